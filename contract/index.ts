// The wire contract between the Worker, the dashboard Durable Object and the Vue client:
// the stream's events (events.ts), the JSON API (api.ts), downsampled history (history.ts), the
// metric model (metrics.ts) with its alert rules (alerts.ts), logs and health checks (logs.ts),
// and notifications (notify.ts). Everything that crosses the SSE wire or the JSON API is defined
// here and nowhere else. This file only gathers them; the modules import each other directly, never through it.
export * from "./events.ts";
export * from "./api.ts";
export * from "./history.ts";
export * from "./metrics.ts";
export * from "./logs.ts";
export * from "./notify.ts";
export { evaluateAlerts, levelFor, type AlertState, type GoneSeries, type Level } from "./alerts.ts";

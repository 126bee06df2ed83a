// The HTTP API: one Hono app composed of a sub-app per feature (worker/routes/). Validation
// happens here, at the edge of the system, so the Durable Objects only ever see well-formed,
// typed requests; every failure is a JSON body with a 4xx status. `AppType` is the whole API's
// type, for a typed client.
import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { readConfig } from "../core/config/index.ts";
import type { AppEnv } from "./env.ts";
import { jsonError } from "./errors.ts";
import { findDashboard } from "./middleware/dashboard.ts";
import { dashboards } from "./routes/dashboards.ts";
import { influx } from "./routes/influx.ts";
import { ingest } from "./routes/ingest.ts";
import { notifications } from "./routes/notifications.ts";
import { otlp } from "./routes/otlp.ts";
import { prometheus } from "./routes/prometheus.ts";
import { series } from "./routes/series.ts";
import { service } from "./routes/service.ts";
import { stream } from "./routes/stream.ts";
import { tickets } from "./routes/tickets.ts";

/** Longer URLs are refused before any routing (a browser's EventSource URL is far shorter). */
export const MAX_URL_LENGTH = 2048;

export const app = new Hono<AppEnv>()
  .use("*", async (c, next) => {
    if (c.req.url.length > MAX_URL_LENGTH) return jsonError(c, 414, "uri_too_long", `URLs are limited to ${MAX_URL_LENGTH} characters`);
    await next();
  })
  // Only configured origins get Access-Control-Allow-Origin; the others get no CORS headers at all.
  .use(
    "/api/*",
    cors({
      origin: (origin, c) => (readConfig(c.env).allowedOrigins.includes(origin) ? origin : null),
      allowMethods: ["GET", "POST", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "Last-Event-ID"],
      exposeHeaders: ["Retry-After"],
      maxAge: 600,
    }),
  )
  .use("/api/dashboards/:id", findDashboard)
  .use("/api/dashboards/:id/*", findDashboard)
  .route("/api", service)
  .route("/api/tickets", tickets)
  .route("/api/dashboards", dashboards)
  .route("/api/dashboards/:id/events", stream)
  .route("/api/dashboards/:id/series", series)
  .route("/api/dashboards/:id", ingest)
  .route("/api/dashboards/:id/otlp", otlp)
  .route("/api/dashboards/:id/prometheus", prometheus)
  .route("/api/dashboards/:id/notifications", notifications)
  .route("/api/v2/write", influx);

export type AppType = typeof app;

app.notFound((c) => jsonError(c, 404, "not_found", `No route for ${c.req.method} ${c.req.path}`));

app.onError((err, c) => {
  // Middleware (bearer auth) answers by throwing a prepared response.
  if (err instanceof HTTPException) return err.getResponse();
  // The path only: query strings may carry tickets.
  console.error(`${c.req.method} ${c.req.path} failed`, err);
  return jsonError(c, 500, "internal_error", "Something went wrong on our side; it has been logged");
});

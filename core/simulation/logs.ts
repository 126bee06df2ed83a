// Simulated application logs for `simulate` dashboards: a few lines a second at most, a pure
// function of (seed, dashboard, second) like the metrics, louder while a metric is in trouble.
import { levelFor, type DashboardDef, type LogLine, type MetricUpdate } from "../../contract/index.ts";
import { toLogLine } from "../ingest/logs.ts";
import { hash32 } from "./metrics.ts";

const ROUTES = ["/api/orders", "/api/cart", "/api/users/me", "/api/search", "/healthz"];
const CALM: [LogLine["level"], (r: number, route: string) => string][] = [
  ["info", (r, route) => `GET ${route} 200 in ${20 + (r % 180)} ms`],
  ["info", (r, route) => `POST ${route} 201 in ${40 + (r % 260)} ms`],
  ["debug", (r) => `cache miss for key session:${r % 10_000}`],
  ["debug", (r) => `connection pool: ${5 + (r % 20)} of 32 in use`],
  ["info", (r) => `job ${r % 100_000} finished in ${(r % 900) / 100} s`],
];

/** The lines the simulator publishes with `sample` for the second at `tMs`. */
export function simulateLogs(seed: string, dashboard: DashboardDef, tMs: number, sample: MetricUpdate): LogLine[] {
  const t = Math.floor(tMs / 1000);
  const r = hash32(`${seed}:${dashboard.id}:log:${t}`);
  // The metric furthest into trouble sets the tone.
  let trouble: "warning" | "critical" | undefined;
  let culprit = "";
  for (const def of dashboard.metrics) {
    const value = sample[def.name];
    const level = typeof value === "number" ? levelFor(def, value, undefined) : undefined;
    if (level && trouble !== "critical") [trouble, culprit] = [level, def.label];
  }
  const lines: LogLine[] = [];
  const count = trouble ? 1 + (r % 2) : r % 3 === 0 ? 1 : 0;
  for (let i = 0; i < count; i++) {
    const ri = hash32(`${r}:${i}`);
    const route = ROUTES[ri % ROUTES.length]!;
    if (trouble && i === 0) {
      const level = trouble === "critical" ? "error" : "warn";
      lines.push(
        toLogLine(
          level,
          `${culprit} is ${trouble}: ${route} slowed to ${400 + (ri % 2000)} ms`,
          { route, status: trouble === "critical" ? 503 : 200 },
          t * 1000,
        ),
      );
    } else {
      const [level, text] = CALM[ri % CALM.length]!;
      lines.push(toLogLine(level, text(ri >>> 3, route), { route, instance: `web-${ri % 4}` }, t * 1000));
    }
  }
  return lines;
}

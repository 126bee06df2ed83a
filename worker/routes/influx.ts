// InfluxDB v2 write API: POST /api/v2/write?bucket=<dashboard>&precision=ns|us|ms|s with
// `Authorization: Token <INGEST_TOKEN or the bucket's own ingestToken>` (or Bearer), so Telegraf's outputs.influxdb_v2 and the
// InfluxDB clients work with url = "https://<worker>", bucket = "<dashboard>" (org is ignored).
// All or nothing: 204 when every point matching a metric was published, else nothing is and the
// answer is InfluxDB's `{"code": "...", "message": "..."}` naming the line. A series is
// `<measurement>_<field>` with the tags as attributes (worker/series-mapping.ts). Series that
// match no metric are ignored, as InfluxDB stores fields nobody queries: Telegraf sends many.
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DASHBOARD_ID_RE } from "../../contract/index.ts";
import type { AppEnv } from "../env.ts";
import { retryAfterSeconds } from "../errors.ts";
import { scopeCovers, tokenScope } from "../middleware/auth.ts";
import { readConfig } from "../../core/config/index.ts";
import { parseLineProtocol, PRECISIONS, type Precision } from "../protocols/line-protocol.ts";
import { readBody } from "../protocols/body.ts";
import { ProtocolError } from "../protocols/points.ts";
import { mapPoints } from "../ingest/mapping.ts";
import { dashboardStub } from "../stubs.ts";

function influxError(c: Context, status: ContentfulStatusCode, code: string, message: string, headers?: Record<string, string>): Response {
  return c.json({ code, message }, status, headers);
}

const SCHEME_RE = /^(?:Token|Bearer)\s+(.+)$/i;

/** Mounted at /api/v2/write. */
export const influx = new Hono<AppEnv>().post("/", async (c) => {
  const config = readConfig(c.env);
  if (!config.ingestToken && ![...config.dashboardAccess.values()].some((d) => d.ingestToken))
    return influxError(c, 401, "unauthorized", "ingest is off here: set the INGEST_TOKEN secret to enable it");
  const token = SCHEME_RE.exec(c.req.header("Authorization") ?? "")?.[1]?.trim();
  if (!token) return influxError(c, 401, "unauthorized", "send Authorization: Token <ingest token>");
  // A token valid nowhere learns nothing about buckets; one valid elsewhere is told only that it is not valid here.
  const scope = await tokenScope(config, "ingest", token);
  if (!scope.global && scope.dashboards.size === 0) return influxError(c, 401, "unauthorized", "the token is not valid");

  const bucket = c.req.query("bucket");
  if (!bucket) return influxError(c, 400, "invalid", "bucket is required: the id of the dashboard to write to");
  if (!DASHBOARD_ID_RE.test(bucket))
    return influxError(c, 400, "invalid", `bucket "${bucket.slice(0, 80)}" is not a dashboard id (${DASHBOARD_ID_RE.source})`);
  const dashboard = config.dashboards.find((d) => d.id === bucket);
  if (!dashboard) return influxError(c, 404, "not found", `bucket "${bucket}" not found: GET /api/dashboards lists the dashboards`);
  if (scopeCovers(scope, bucket) !== "ok") return influxError(c, 403, "forbidden", `the token may not write to bucket "${bucket}"`);
  const precision = (c.req.query("precision") ?? "ns") as Precision;
  if (!PRECISIONS.includes(precision))
    return influxError(c, 400, "invalid", `precision "${precision.slice(0, 20)}" is not one of ns, us, ms, s`);

  let parsed;
  try {
    const body = await readBody(c.req.raw, c.req.header("Content-Encoding"), config.influxMaxBytes);
    parsed = parseLineProtocol(body, precision);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    if (e.code === "too_large")
      return influxError(c, 413, "request too large", `${e.message} (INFLUX_MAX_BYTES); send fewer lines per request`);
    if (e.code === "unsupported_encoding") return influxError(c, 415, "unsupported media type", e.message);
    return influxError(c, 400, "invalid", e.message);
  }
  const mapped = mapPoints(dashboard, parsed.points, { now: Date.now(), retentionSeconds: config.retentionSeconds, refs: parsed.lines });
  if (mapped.refused.first) return invalidLine(c, mapped.refused.first, mapped.refused.count);
  if (mapped.batches.length === 0) return c.body(null, 204);
  if (mapped.accepted > config.pointRate.burst) {
    return influxError(
      c,
      413,
      "request too large",
      `${mapped.accepted} points in one request; this dashboard takes at most ${config.pointRate.burst} at once (INGEST_POINTS_BURST)`,
    );
  }
  const result = await dashboardStub(c.env, dashboard.id).publishPoints({
    batches: mapped.batches,
    points: mapped.accepted,
    atomic: true,
  });
  if ("retryAfterMs" in result) {
    const seconds = retryAfterSeconds(result.retryAfterMs);
    return influxError(
      c,
      429,
      "too many requests",
      `dashboard "${dashboard.id}" takes ${config.pointRate.perSecond} points/s; nothing was written, retry in ${seconds} s`,
      { "Retry-After": String(seconds) },
    );
  }
  if (!result.published && result.refused.first) return invalidLine(c, result.refused.first, result.refused.count);
  return c.body(null, 204);
});

function invalidLine(c: Context, first: { ref: number; reason: string }, count: number): Response {
  const more = count > 1 ? ` (${count} points refused; nothing was written)` : " (nothing was written)";
  return influxError(c, 400, "invalid", `at line ${first.ref}: ${first.reason}${more}`);
}

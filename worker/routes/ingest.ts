// What real systems push as JSON: metric samples and log lines. Mounted at /api/dashboards/:id.
// Every route needs the ingest token, checks everything before anything is published, and
// publishes a request in one commit.
import { Hono } from "hono";
import { EVENT, type IngestResult, type LogIngestResult } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import { MAX_LOG_BYTES, parseLogBody } from "../../core/ingest/logs.ts";
import { countValues, MAX_INGEST_BYTES, parseIngestBody } from "../../core/ingest/samples.ts";
import type { AppEnv } from "../env.ts";
import { jsonError, retryAfterSeconds } from "../errors.ts";
import { ingestAuth } from "../middleware/auth.ts";
import { jsonBody, readJson } from "../middleware/json-body.ts";
import { dashboardStub } from "../stubs.ts";

export const ingest = new Hono<AppEnv>()
  /** Metric samples: they go through the same alert rules as simulated ones. */
  .post("/metrics", ingestAuth, jsonBody(MAX_INGEST_BYTES, "samples"), async (c) => {
    const read = await readJson(c);
    if (read instanceof Response) return read;
    const dashboard = c.var.dashboard;
    const config = readConfig(c.env);
    const parsed = parseIngestBody(dashboard, read.body, config.retentionSeconds, Date.now());
    if ("error" in parsed) return jsonError(c, 400, "invalid_sample", parsed.error);
    const points = parsed.samples.reduce((n, s) => n + countValues(s), 0);
    const result = await dashboardStub(c.env, dashboard.id).ingestSamples({ samples: parsed.samples, points });
    if ("retryAfterMs" in result) {
      const seconds = retryAfterSeconds(result.retryAfterMs);
      const { perSecond, burst } = config.pointRate;
      const message = `This dashboard takes ${perSecond} values/s (bursts of ${burst}); nothing of this request was published, retry in ${seconds} s`;
      return jsonError(c, 429, "rate_limited", message, { "Retry-After": String(seconds) });
    }
    // A split metric's series past its maxSeries (the object knows which are live): nothing was published.
    if ("refused" in result) return jsonError(c, 400, "invalid_sample", result.refused);
    const { events } = result;
    return c.json<IngestResult>(
      {
        ids: events.filter((e) => e.event === EVENT.metric).map((e) => e.id),
        alertIds: events.filter((e) => e.event === EVENT.alert).map((e) => e.id),
      },
      202,
    );
  })
  /** Log lines: one or up to 500, all published or none (bad line, or over the dashboard's log rate). */
  .post("/logs", ingestAuth, jsonBody(MAX_LOG_BYTES, "lines"), async (c) => {
    const read = await readJson(c);
    if (read instanceof Response) return read;
    const config = readConfig(c.env);
    const parsed = parseLogBody(read.body, config.retentionSeconds, Date.now());
    if ("error" in parsed) return jsonError(c, 400, "invalid_log", parsed.error);
    const result = await dashboardStub(c.env, c.var.dashboard.id).publishLogs({ lines: parsed.lines });
    if ("retryAfterMs" in result) {
      const seconds = retryAfterSeconds(result.retryAfterMs);
      const { perSecond, burst } = config.logRate;
      const message = `This dashboard takes ${perSecond} log lines/s (bursts of ${burst}); nothing of this request was published, retry in ${seconds} s`;
      return jsonError(c, 429, "rate_limited", message, { "Retry-After": String(seconds) });
    }
    return c.json<LogIngestResult>({ ids: result.ids }, 202);
  });

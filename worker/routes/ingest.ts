// What real systems push: metric samples and log lines. Every route here needs the ingest token,
// checks everything before anything is published, and publishes a request in one commit.
import type { Context, Hono, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import { EVENT, type IngestResult, type LogIngestResult } from "../../contract/index.ts";
import type { AppEnv } from "../app.ts";
import { requireBearer } from "../middleware/auth.ts";
import { readConfig } from "../../core/config/index.ts";
import { jsonError } from "../errors.ts";
import { MAX_INGEST_BYTES, parseIngestBody } from "../../core/ingest/samples.ts";
import { MAX_LOG_BYTES, parseLogBody } from "../../core/ingest/logs.ts";
import { dashboardStub } from "../stubs.ts";

/** Ingest is on (INGEST_TOKEN is set) and the request carries it. */
export const ingestAuth: MiddlewareHandler<AppEnv> = every(
  async (c, next) => {
    if (!readConfig(c.env).ingestToken)
      return jsonError(c, 403, "ingest_disabled", "Ingest is off here: set the INGEST_TOKEN secret to enable it");
    await next();
  },
  requireBearer((c) => readConfig(c.env).ingestToken, "ingest token"),
);

/** A JSON body of at most `maxBytes`. */
function jsonBody(maxBytes: number, what: string): MiddlewareHandler<AppEnv> {
  return every(
    async (c, next) => {
      const type = c.req.header("Content-Type")?.split(";")[0]!.trim().toLowerCase();
      if (type !== "application/json")
        return jsonError(c, 415, "unsupported_media_type", `Send the ${what} as Content-Type: application/json`);
      await next();
    },
    bodyLimit({
      maxSize: maxBytes,
      onError: (c) => jsonError(c, 413, "payload_too_large", `Bodies are limited to ${maxBytes / 1024} KB; send fewer ${what} per request`),
    }),
  );
}

async function readJson(c: Context<AppEnv>): Promise<{ body: unknown } | Response> {
  try {
    return { body: JSON.parse(await c.req.text()) };
  } catch {
    return jsonError(c, 400, "invalid_json", "The body is not valid JSON");
  }
}

export function registerIngestRoutes(app: Hono<AppEnv>): void {
  /** Metric samples: they go through the same alert rules as simulated ones. */
  app.post("/api/dashboards/:id/metrics", ingestAuth, jsonBody(MAX_INGEST_BYTES, "samples"), async (c) => {
    const read = await readJson(c);
    if (read instanceof Response) return read;
    const dashboard = c.get("dashboard");
    const parsed = parseIngestBody(dashboard, read.body, readConfig(c.env).retentionSeconds, Date.now());
    if ("error" in parsed) return jsonError(c, 400, "invalid_sample", parsed.error);
    const { events } = await dashboardStub(c.env, dashboard.id).publish({ samples: parsed.samples });
    return c.json<IngestResult>(
      {
        ids: events.filter((e) => e.event === EVENT.metric).map((e) => e.id),
        alertIds: events.filter((e) => e.event === EVENT.alert).map((e) => e.id),
      },
      202,
    );
  });

  /** Log lines: one or up to 500, all published or none (bad line, or over the dashboard's log rate). */
  app.post("/api/dashboards/:id/logs", ingestAuth, jsonBody(MAX_LOG_BYTES, "lines"), async (c) => {
    const read = await readJson(c);
    if (read instanceof Response) return read;
    const parsed = parseLogBody(read.body, readConfig(c.env).retentionSeconds, Date.now());
    if ("error" in parsed) return jsonError(c, 400, "invalid_log", parsed.error);
    return publishLogs(c, parsed.lines);
  });
}

/** Publishes checked log lines: 202 with their ids, or 429 with Retry-After past the log rate. */
export async function publishLogs(
  c: Context<AppEnv>,
  lines: Parameters<ReturnType<typeof dashboardStub>["publishLogs"]>[0]["lines"],
): Promise<Response> {
  const result = await dashboardStub(c.env, c.get("dashboard").id).publishLogs({ lines });
  if ("retryAfterMs" in result) {
    const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    const { perSecond, burst } = readConfig(c.env).logRate;
    return jsonError(
      c,
      429,
      "rate_limited",
      `This dashboard takes ${perSecond} log lines/s (bursts of ${burst}); nothing of this request was published, retry in ${seconds} s`,
      {
        "Retry-After": String(seconds),
      },
    );
  }
  return c.json<LogIngestResult>({ ids: result.ids }, 202);
}

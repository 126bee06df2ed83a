// The HTTP API. Validation happens here, at the edge of the system, so the Durable Object only
// ever sees well-formed requests; every failure is a JSON body with a 4xx status.
import { zValidator } from "@hono/zod-validator";
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import {
  DASHBOARD_ID_RE,
  DEFAULT_HISTORY_SECONDS,
  EVENT,
  type ClientConfig,
  type Dashboard,
  type DashboardDef,
  type Health,
  type IngestResult,
} from "../contract/index.ts";
import { parseMetricFilter } from "../durable-objects/filter.ts";
import { checkTicket, issueTicket, requireBearer } from "./auth.ts";
import { readConfig } from "./config.ts";
import { jsonError } from "./errors.ts";
import { eventLogHealth } from "./health.ts";
import { MAX_INGEST_BYTES, parseIngestBody } from "./ingest.ts";
import { mountSeries } from "./series.ts";

type AppEnv = { Bindings: Env; Variables: { dashboard: DashboardDef } };

/** Longer URLs are refused before any routing (a browser's EventSource URL is far shorter). */
export const MAX_URL_LENGTH = 2048;

export const app = new Hono<AppEnv>();

app.use("*", async (c, next) => {
  if (c.req.url.length > MAX_URL_LENGTH) {
    return jsonError(c, 414, "uri_too_long", `URLs are limited to ${MAX_URL_LENGTH} characters`);
  }
  await next();
});

// Only configured origins get Access-Control-Allow-Origin; the others get no CORS headers at all.
app.use(
  "/api/*",
  cors({
    origin: (origin, c) => (readConfig(c.env).allowedOrigins.includes(origin) ? origin : null),
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "Last-Event-ID"],
    exposeHeaders: ["Retry-After"],
    maxAge: 600,
  }),
);

app.get("/api/health", async (c) => {
  const eventLog = await eventLogHealth(readConfig(c.env));
  return c.json<Health>({ status: eventLog.status, eventLog }, eventLog.status === "ok" ? 200 : 503);
});

/** What a client needs to know before it connects. */
app.get("/api/config", (c) => {
  const config = readConfig(c.env);
  return c.json<ClientConfig>({ viewerAuth: config.viewer ? "ticket" : "none", ticketTtlSeconds: config.ticketTtlSeconds });
});

app.get("/api/dashboards", (c) => c.json<Dashboard[]>(readConfig(c.env).dashboards.map(({ id, name }) => ({ id, name }))));

/** Viewer tickets: trade the viewer token for a short-lived ticket bound to one dashboard. */
app.post(
  "/api/tickets",
  async (c, next) => {
    if (!readConfig(c.env).viewer) return jsonError(c, 404, "viewer_auth_disabled", "Streams are open to everyone here: no ticket is needed");
    await next();
  },
  requireBearer((c) => readConfig(c.env).viewer?.token, "viewer token"),
  bodyLimit({ maxSize: 1024, onError: (c) => jsonError(c, 413, "payload_too_large", "A ticket request is a small JSON object") }),
  async (c) => {
    const config = readConfig(c.env);
    const body = await c.req.json().catch(() => undefined);
    const dashboard = (body as { dashboard?: unknown } | undefined)?.dashboard;
    if (typeof dashboard !== "string" || !DASHBOARD_ID_RE.test(dashboard)) {
      return jsonError(c, 400, "invalid_body", 'Send {"dashboard": "<id>"}');
    }
    if (!config.dashboards.some((d) => d.id === dashboard)) {
      return jsonError(c, 404, "dashboard_not_found", `No dashboard "${dashboard}"`);
    }
    return c.json(await issueTicket(config.viewer!.secret, dashboard, Date.now(), config.ticketTtlSeconds * 1000), 201);
  },
);

// Every /api/dashboards/:id route: a malformed id is a 400, an unknown one a 404.
const findDashboard: MiddlewareHandler<AppEnv> = async (c, next) => {
  const id = c.req.param("id") ?? "";
  if (!DASHBOARD_ID_RE.test(id)) {
    return jsonError(c, 400, "invalid_dashboard_id", `Dashboard ids match ${DASHBOARD_ID_RE.source}`);
  }
  const dashboard = readConfig(c.env).dashboards.find((d) => d.id === id);
  if (!dashboard) return jsonError(c, 404, "dashboard_not_found", `No dashboard "${id}"; GET /api/dashboards lists them`);
  c.set("dashboard", dashboard);
  await next();
};
app.use("/api/dashboards/:id", findDashboard);
app.use("/api/dashboards/:id/*", findDashboard);

/** The dashboard with its metric definitions: what the client builds its layout from. */
app.get("/api/dashboards/:id", (c) => c.json<DashboardDef>(c.get("dashboard")));

const streamQuery = z.object({
  history: z
    .string()
    .regex(/^\d{1,9}$/, "history must be a whole number of seconds")
    .transform(Number)
    .optional(),
  // Checked against the dashboard's own metric names in the handler.
  metrics: z.string().max(2048).optional(),
  lastEventId: z.string().optional(),
  ticket: z.string().optional(),
});

app.get(
  "/api/dashboards/:id/events",
  zValidator("query", streamQuery, (result, c) => {
    if (!result.success) {
      const issue = result.error.issues[0]!;
      return jsonError(c, 400, "invalid_query", `${issue.path.join(".")}: ${issue.message}`);
    }
  }),
  async (c) => {
    const config = readConfig(c.env);
    const query = c.req.valid("query");
    const { id, metrics } = c.get("dashboard");
    if (query.metrics !== undefined) {
      const names = metrics.map((m) => m.name);
      const parsed = parseMetricFilter(query.metrics, names);
      if (parsed && "unknown" in parsed) {
        const unknown = parsed.unknown.map((m) => JSON.stringify(m)).join(", ");
        return jsonError(c, 400, "invalid_query", `metrics: unknown metric ${unknown}; known: ${names.join(", ")}`);
      }
    }
    if (config.viewer) {
      if (!query.ticket) return jsonError(c, 401, "ticket_required", "This dashboard needs a ticket: POST /api/tickets, then add ?ticket=");
      const check = await checkTicket(config.viewer.secret, query.ticket, id);
      if (!check.ok) return jsonError(c, 401, check.error, check.message);
    }
    const history = Math.min(query.history ?? DEFAULT_HISTORY_SECONDS, config.retentionSeconds);
    const target = new URL("https://dashboard/stream");
    target.searchParams.set("history", String(history));
    if (query.metrics !== undefined) target.searchParams.set("metrics", query.metrics);
    if (query.lastEventId !== undefined) target.searchParams.set("lastEventId", query.lastEventId);
    const headers = new Headers();
    const lastEventId = c.req.header("Last-Event-ID");
    if (lastEventId !== undefined) headers.set("Last-Event-ID", lastEventId);
    // The ticket stays here: it is never forwarded, stored or logged.
    const init = { headers, signal: c.req.raw.signal };
    if (config.relaysPerDashboard === 0) return dashboardStub(c.env, id).fetch(target, init);
    return openOnRelay(c.env, id, config.relaysPerDashboard, target, init);
  },
);

/**
 * Places a viewer on one of the dashboard's K relays, chosen at random; a full relay (503) is
 * passed over for the next in a random order, and only when all K are full is the 503 returned.
 */
async function openOnRelay(env: Env, id: string, relays: number, target: URL, init: RequestInit): Promise<Response> {
  const order = Array.from({ length: relays }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let response: Response | undefined;
  for (const i of order) {
    await response?.body?.cancel();
    response = await relayStub(env, id, i).fetch(target, init);
    if (response.status !== 503) return response;
  }
  return response!;
}

app.get(
  "/api/dashboards/:id/stats",
  async (c, next) => (readConfig(c.env).viewer ? requireBearer((c) => readConfig(c.env).viewer?.token, "viewer token")(c, next) : next()),
  async (c) => {
    const { id } = c.get("dashboard");
    return c.json(await dashboardStub(c.env, id).stats());
  },
);

mountSeries(app); // GET /api/dashboards/:id/series: downsampled history

/** Ingest: a real system pushes samples; they go through the same alert rules as simulated ones. */
app.post(
  "/api/dashboards/:id/metrics",
  async (c, next) => {
    if (!readConfig(c.env).ingestToken) return jsonError(c, 403, "ingest_disabled", "Ingest is off here: set the INGEST_TOKEN secret to enable it");
    await next();
  },
  requireBearer((c) => readConfig(c.env).ingestToken, "ingest token"),
  async (c, next) => {
    const type = c.req.header("Content-Type")?.split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") return jsonError(c, 415, "unsupported_media_type", "Send the samples as Content-Type: application/json");
    await next();
  },
  bodyLimit({
    maxSize: MAX_INGEST_BYTES,
    onError: (c) => jsonError(c, 413, "payload_too_large", `Bodies are limited to ${MAX_INGEST_BYTES / 1024} KB; send fewer samples per request`),
  }),
  async (c) => {
    const config = readConfig(c.env);
    const text = await c.req.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return jsonError(c, 400, "invalid_json", "The body is not valid JSON");
    }
    const dashboard = c.get("dashboard");
    const parsed = parseIngestBody(dashboard, body, config.retentionSeconds, Date.now());
    if ("error" in parsed) return jsonError(c, 400, "invalid_sample", parsed.error);
    const { id } = dashboard;
    const { events } = await dashboardStub(c.env, id).publish({ samples: parsed.samples });
    return c.json<IngestResult>(
      {
        ids: events.filter((e) => e.event === EVENT.metric).map((e) => e.id),
        alertIds: events.filter((e) => e.event === EVENT.alert).map((e) => e.id),
      },
      202,
    );
  },
);

app.notFound((c) => jsonError(c, 404, "not_found", `No route for ${c.req.method} ${c.req.path}`));

app.onError((err, c) => {
  // Middleware (bearer auth) answers by throwing a prepared response.
  if (err instanceof HTTPException) return err.getResponse();
  // The path only: query strings may carry tickets.
  console.error(`${c.req.method} ${c.req.path} failed`, err);
  return jsonError(c, 500, "internal_error", "Something went wrong on our side; it has been logged");
});

export function dashboardStub(env: Env, id: string) {
  return env.DASHBOARD.getByName(id);
}

/** Relay `i` of dashboard `id` (see durable-objects/relay.ts). */
export function relayStub(env: Env, id: string, i: number) {
  return env.RELAY.getByName(`${id}:${i}`);
}

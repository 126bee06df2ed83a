// The HTTP API. Validation happens here, at the edge of the system, so the Durable Object only
// ever sees well-formed requests; every failure is a JSON body with a 4xx status.
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { DASHBOARD_ID_RE, type CheckState, type ClientConfig, type Dashboard, type DashboardDef, type Health } from "../contract/index.ts";
import { issueTicket, requireBearer } from "./middleware/auth.ts";
import { readConfig } from "../core/config/index.ts";
import { jsonError } from "./errors.ts";
import { eventLogHealth } from "./health.ts";
import { dashboardStub } from "./stubs.ts";
import { mountSeries } from "./routes/series.ts";

export { dashboardStub, relayStub } from "./stubs.ts";
import { registerInfluxRoutes } from "./routes/influx.ts";
import { registerIngestRoutes } from "./routes/ingest.ts";
import { registerOtlpRoutes } from "./routes/otlp.ts";
import { registerStreamRoute } from "./routes/stream.ts";

export type AppEnv = { Bindings: Env; Variables: { dashboard: DashboardDef } };

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
    if (!readConfig(c.env).viewer)
      return jsonError(c, 404, "viewer_auth_disabled", "Streams are open to everyone here: no ticket is needed");
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

registerStreamRoute(app);

/** With viewer auth on, stats and checks (which name internal URLs) need the viewer token too. */
const viewerOnly: MiddlewareHandler<AppEnv> = async (c, next) =>
  readConfig(c.env).viewer ? requireBearer((c) => readConfig(c.env).viewer?.token, "viewer token")(c, next) : next();

app.get("/api/dashboards/:id/stats", viewerOnly, async (c) => c.json(await dashboardStub(c.env, c.get("dashboard").id).stats()));

/** The dashboard's health checks and each one's last state (null before its first run). */
app.get("/api/dashboards/:id/checks", viewerOnly, async (c) =>
  c.json<CheckState[]>(await dashboardStub(c.env, c.get("dashboard").id).checks()),
);

mountSeries(app); // GET /api/dashboards/:id/series: downsampled history
registerIngestRoutes(app);
registerOtlpRoutes(app);
registerInfluxRoutes(app);

app.notFound((c) => jsonError(c, 404, "not_found", `No route for ${c.req.method} ${c.req.path}`));

app.onError((err, c) => {
  // Middleware (bearer auth) answers by throwing a prepared response.
  if (err instanceof HTTPException) return err.getResponse();
  // The path only: query strings may carry tickets.
  console.error(`${c.req.method} ${c.req.path} failed`, err);
  return jsonError(c, 500, "internal_error", "Something went wrong on our side; it has been logged");
});

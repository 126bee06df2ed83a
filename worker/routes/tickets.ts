// POST /api/tickets (mounted there): trade the viewer token for a short-lived ticket bound to
// one dashboard, which the stream URL carries (EventSource cannot send headers).
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { DASHBOARD_ID_RE } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import type { AppEnv } from "../env.ts";
import { jsonError } from "../errors.ts";
import { requireBearer } from "../middleware/auth.ts";
import { issueTicket } from "../tickets.ts";

export const tickets = new Hono<AppEnv>().post(
  "/",
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

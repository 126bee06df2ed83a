// POST /api/tickets (mounted there): trade a viewer token for a short-lived ticket bound to one
// dashboard, which the stream URL carries (EventSource cannot send headers). The global
// VIEWER_TOKEN gets tickets for every dashboard, a dashboard's own viewerToken for that one
// only; a token of another dashboard is a 403 that does not say where it is valid.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { DASHBOARD_ID_RE } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import type { AppEnv } from "../env.ts";
import { jsonError } from "../errors.ts";
import { bearerToken, CHALLENGE, scopeCovers, tokenScope } from "../middleware/auth.ts";
import { issueTicket } from "../tickets.ts";

export const tickets = new Hono<AppEnv>().post(
  "/",
  async (c, next) => {
    const config = readConfig(c.env);
    if (!config.viewer) {
      const message = config.access
        ? "Streams need no ticket here: people sign in through Cloudflare Access"
        : "Streams are open to everyone here: no ticket is needed";
      return jsonError(c, 404, "viewer_auth_disabled", message);
    }
    await next();
  },
  bodyLimit({ maxSize: 1024, onError: (c) => jsonError(c, 413, "payload_too_large", "A ticket request is a small JSON object") }),
  async (c) => {
    const config = readConfig(c.env);
    const token = bearerToken(c);
    if (token === null) return jsonError(c, 401, "unauthorized", "Send Authorization: Bearer <viewer token>", CHALLENGE);
    const scope = await tokenScope(config, "viewer", token);
    if (!scope.global && scope.dashboards.size === 0) return jsonError(c, 401, "unauthorized", "The viewer token is not valid", CHALLENGE);
    const body = await c.req.json().catch(() => undefined);
    const dashboard = (body as { dashboard?: unknown } | undefined)?.dashboard;
    if (typeof dashboard !== "string" || !DASHBOARD_ID_RE.test(dashboard)) {
      return jsonError(c, 400, "invalid_body", 'Send {"dashboard": "<id>"}');
    }
    if (!config.dashboards.some((d) => d.id === dashboard)) {
      return jsonError(c, 404, "dashboard_not_found", `No dashboard "${dashboard}"`);
    }
    if (scopeCovers(scope, dashboard) !== "ok") {
      return jsonError(c, 403, "token_not_for_dashboard", `This viewer token is not valid for dashboard "${dashboard}"`);
    }
    return c.json(await issueTicket(config.viewer!.secret, dashboard, Date.now(), config.ticketTtlSeconds * 1000), 201);
  },
);

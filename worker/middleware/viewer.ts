// Who may watch a dashboard (its stream, and the routes that name internal URLs or history:
// checks, stats, series). With no viewer auth configured, anyone; otherwise a public dashboard
// is open to anyone, and any other needs one of: a Cloudflare Access identity (in the dashboard's
// `viewers`, when it names them), a ticket (streams), or a viewer token valid for it (the global
// VIEWER_TOKEN or its own viewerToken). An Access assertion, when sent, decides on its own.
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { isViewer, readConfig } from "../../core/config/index.ts";
import { ACCESS_HEADER, verifyAccess } from "../access.ts";
import type { AppEnv } from "../env.ts";
import { jsonError } from "../errors.ts";
import { checkTicket } from "../tickets.ts";
import { bearerToken, CHALLENGE, notForThisDashboard, scopeCovers, tokenScope } from "./auth.ts";

/** A viewer let in: with an Access identity, its email (when it has one). */
export interface Viewer {
  email?: string;
}

/**
 * Whether this request may watch dashboard `c.var.dashboard`: the viewer, or the JSON error to
 * answer with (401 no or a bad credential, 403 a good one that does not open this dashboard).
 * `stream`: the request opens the stream, and may carry `?ticket=` (the JSON routes take no tickets).
 */
export async function checkViewer(c: Context<AppEnv>, stream?: { ticket: string | undefined }): Promise<Viewer | Response> {
  const config = readConfig(c.env);
  const id = c.var.dashboard.id;
  const rules = config.dashboardAccess.get(id);
  if (config.viewerAuth === "none" || rules?.public) return {};

  const assertion = config.access ? c.req.header(ACCESS_HEADER) : undefined;
  if (config.access && assertion) {
    const identity = await verifyAccess(config.access, assertion);
    if (!identity.ok) {
      const retry = identity.status === 503 ? { "Retry-After": "5" } : undefined;
      return jsonError(c, identity.status, identity.status === 503 ? "access_unavailable" : "access_invalid", identity.message, retry);
    }
    if (!isViewer(rules?.viewers, identity.email)) {
      return jsonError(c, 403, "not_a_viewer", `Your Cloudflare Access identity may not watch dashboard "${id}"; ask its owners`);
    }
    return identity.email ? { email: identity.email } : {};
  }

  const ticket = stream?.ticket;
  if (ticket !== undefined && config.viewer) {
    const check = await checkTicket(config.viewer.secret, ticket, id);
    return check.ok ? {} : jsonError(c, 401, check.error, check.message);
  }

  const token = bearerToken(c);
  if (token !== null) {
    const verdict = scopeCovers(await tokenScope(config, "viewer", token), id);
    if (verdict === "ok") return {};
    if (verdict === "other") return notForThisDashboard(c, "viewer token");
    return jsonError(c, 401, "unauthorized", "The viewer token is not valid", CHALLENGE);
  }
  const ways = [
    config.access && "a Cloudflare Access sign-in",
    config.viewer && `${stream ? "a ticket (POST /api/tickets, then ?ticket=) or " : ""}Authorization: Bearer <viewer token>`,
  ].filter(Boolean);
  // Streams keep the code clients already know for "get a ticket first".
  const code = stream && config.viewer ? "ticket_required" : "unauthorized";
  return jsonError(c, 401, code, `Dashboard "${id}" needs ${ways.join(", or ")}`, CHALLENGE);
}

/** For the viewer-only JSON routes (checks, stats, series): lets viewers through, answers everyone else. */
export const viewerOnly = createMiddleware<AppEnv>(async (c, next) => {
  const viewer = await checkViewer(c);
  if (viewer instanceof Response) return viewer;
  await next();
});

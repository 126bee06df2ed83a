// Who may write: bearer tokens compared in constant time. The global INGEST_TOKEN writes every
// dashboard; a dashboard's own `ingestToken` writes that dashboard only, and a token of another
// dashboard is refused with a 403 that does not say where it is valid. Viewer tokens follow the
// same rule (viewer.ts, routes/tickets.ts).
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { readConfig, type Config } from "../../core/config/index.ts";
import type { AppEnv } from "../env.ts";
import { jsonError } from "../errors.ts";

const encoder = new TextEncoder();

/**
 * Compares two secrets in constant time: both are hashed first, so neither their contents nor
 * their lengths change how long the comparison takes.
 */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([sha256(a), sha256(b)]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

async function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/** What a 401 for a missing or wrong bearer token carries (RFC 6750). */
export const CHALLENGE = { "WWW-Authenticate": "Bearer" };

const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;

/** The token of `Authorization: Bearer <token>`; null when the header is missing or has another form. */
export function bearerToken(c: Context): string | null {
  return BEARER_RE.exec(c.req.header("Authorization") ?? "")?.[1] ?? null;
}

/** Where a token is valid: everywhere (the global token), on these dashboards (their own), or nowhere. */
export interface TokenScope {
  global: boolean;
  dashboards: Set<string>;
}

/**
 * Compares `token` with the global token and every dashboard's own token of that kind, each in
 * constant time and all of them every time, so how long it takes says nothing about which matched.
 */
export async function tokenScope(config: Config, kind: "ingest" | "viewer", token: string): Promise<TokenScope> {
  const global = kind === "ingest" ? config.ingestToken : config.viewer?.token;
  const own: [string, string][] = [];
  for (const [id, d] of config.dashboardAccess) {
    const t = kind === "ingest" ? d.ingestToken : d.viewerToken;
    if (t) own.push([id, t]);
  }
  const [isGlobal, ...matches] = await Promise.all([
    global ? constantTimeEqual(token, global) : false,
    ...own.map(([, t]) => constantTimeEqual(token, t)),
  ]);
  return { global: isGlobal!, dashboards: new Set(own.filter((_, i) => matches[i]).map(([id]) => id)) };
}

/** Whether `scope` covers `dashboard`: "ok", "other" (a token of other dashboards: 403) or "invalid" (401). */
export function scopeCovers(scope: TokenScope, dashboard: string): "ok" | "other" | "invalid" {
  if (scope.global || scope.dashboards.has(dashboard)) return "ok";
  return scope.dashboards.size > 0 ? "other" : "invalid";
}

/** The 403 for a token of another dashboard: it names neither the token's dashboards nor how many. */
export const notForThisDashboard = (c: Context, what: string) =>
  jsonError(c, 403, "token_not_for_dashboard", `This ${what} is not valid for dashboard "${c.var.dashboard?.id ?? ""}"`);

/**
 * Every ingest route under /api/dashboards/:id (JSON metrics and logs, OTLP, and the
 * notification test route of #20, which mounts it the same way): ingest is on for the dashboard
 * (INGEST_TOKEN, or its own ingestToken) and the request carries a token valid for it.
 * Line protocol names its dashboard in `bucket` and checks the same scope itself (routes/influx.ts).
 */
export const ingestAuth = createMiddleware<AppEnv>(async (c, next) => {
  const config = readConfig(c.env);
  const id = c.var.dashboard.id;
  if (!config.ingestToken && !config.dashboardAccess.get(id)?.ingestToken) {
    return jsonError(c, 403, "ingest_disabled", "Ingest is off for this dashboard: set the INGEST_TOKEN secret, or give it an ingestToken");
  }
  const token = bearerToken(c);
  if (token === null) return jsonError(c, 401, "unauthorized", "Send Authorization: Bearer <ingest token>", CHALLENGE);
  const verdict = scopeCovers(await tokenScope(config, "ingest", token), id);
  if (verdict === "other") return notForThisDashboard(c, "ingest token");
  if (verdict === "invalid") return jsonError(c, 401, "unauthorized", "The ingest token is not valid", CHALLENGE);
  await next();
});

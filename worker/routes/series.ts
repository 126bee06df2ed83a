// GET /api/dashboards/:id/series (mounted at that path): downsampled history from the dashboard
// object's buckets (durable-objects/history/rollups.ts). The query is checked and normalized here
// (series-query.ts: from/to floored to the step, so every query inside the same buckets is one
// query). Answers for ranges no sample can reach any more are cached in the Worker (Cache API)
// under that query, so repeats of old ranges, however they are written, never reach the object.
// Recent ranges reach it every time (their buckets still change; browsers keep them 5 s). Every
// answer carries a strong ETag of its bytes (hono/etag); a matching If-None-Match gets 304.
import { Hono } from "hono";
import { etag } from "hono/etag";
import { readConfig } from "../../core/config/index.ts";
import type { AppEnv } from "../env.ts";
import { jsonError } from "../errors.ts";
import { viewerOnly } from "../middleware/viewer.ts";
import { dashboardStub } from "../stubs.ts";
import { cacheKey, isSettled, LONG_MAX_AGE, parseSeriesQuery, SHORT_MAX_AGE } from "./series-query.ts";

const JSON_TYPE = "application/json; charset=utf-8";

/** SHA-256 of the body, first 16 bytes: equal answers get equal tags, whoever computed them. */
const digest = async (body: Uint8Array) => (await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>)).slice(0, 16);

export const series = new Hono<AppEnv>().get("/", viewerOnly, etag({ generateDigest: digest }), async (c) => {
  const config = readConfig(c.env);
  const now = Date.now();
  const dashboard = c.var.dashboard;
  const parsed = parseSeriesQuery(c.req.query(), dashboard, now, config.historyDays);
  if ("error" in parsed) return jsonError(c, 400, "invalid_query", parsed.error);
  const request = parsed.ok;
  const settled = isSettled(request, now, config.retentionSeconds);
  // A dashboard only some may watch: shared caches must not keep its answers. The Worker's own
  // cache is behind the viewer check above, so it still may.
  const scope = config.viewerAuth !== "none" && !config.dashboardAccess.get(dashboard.id)?.public ? "private" : "public";
  let cacheControl = settled ? `${scope}, max-age=${LONG_MAX_AGE}, immutable` : `${scope}, max-age=${SHORT_MAX_AGE}`;
  const key = settled ? cacheKey(dashboard.id, request) : null;

  const cached = key ? await caches.default.match(key) : undefined;
  let json: string;
  if (cached) json = await cached.text();
  else {
    const result = await dashboardStub(c.env, dashboard.id).series(request);
    json = result.json;
    if (!result.complete) cacheControl = "no-store";
    else if (key) {
      // Awaited rather than waitUntil: a few ms once per old range, and the next request hits.
      const headers = { "Content-Type": JSON_TYPE, "Cache-Control": `public, max-age=${LONG_MAX_AGE}` };
      await caches.default.put(key, new Response(json, { headers }));
    }
  }
  return c.body(json, 200, { "Content-Type": JSON_TYPE, "Cache-Control": cacheControl });
});

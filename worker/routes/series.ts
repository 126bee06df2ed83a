// GET /api/dashboards/:id/series: downsampled history from the dashboard object's buckets
// (durable-objects/rollups.ts). The query is checked here, the step chosen, and answers for
// ranges no sample can reach any more are cached in the Worker (Cache API), so repeats of old
// ranges never reach the object. Plain code rather than zod: six parameters, and the bundle stays small.
import type { Hono } from "hono";
import { SERIES_MAX_DAYS, SERIES_STEPS, type DashboardDef, type SeriesStep } from "../../contract/index.ts";
import { MINUTE_BUCKETS_SLACK_MS } from "../../durable-objects/history/rollups.ts";
import type { SeriesRequest } from "../../core/rpc.ts";
import { requireBearer } from "../middleware/auth.ts";
import { readConfig } from "../../core/config/index.ts";
import { jsonError } from "../errors.ts";
import { ISO_DATETIME_RE } from "../../core/ingest/samples.ts";

const HOUR = 3_600_000;
const DAY = 86_400_000;
/**
 * `auto` aims at the coarsest step with at least ~300 points: 285 (300 less 5 %), so that a day
 * in 5-minute buckets (288 or 289 points) counts…
 */
export const MIN_POINTS = 285;
/** …and no answer has more than this many per series (an explicit step that would is refused). */
export const MAX_POINTS = 1500;
/** Without `from`, the last 24 hours. */
export const DEFAULT_RANGE_MS = DAY;
/**
 * A sample may be accepted up to `now - RETENTION_SECONDS` and then wait in the outbox before it
 * is committed (a remote log that is down): a range is treated as settled only this much later.
 */
export const SETTLE_MARGIN_MS = 10 * 60_000;
/** Settled ranges never change (short of trimming): browsers and the Worker's cache keep them a day. */
export const LONG_MAX_AGE = 86_400;
/** Ranges that reach into the ingest window: a few seconds, so bursts of viewers share one answer. */
export const SHORT_MAX_AGE = 5;

const STEP_NAMES = Object.keys(SERIES_STEPS) as SeriesStep[];

/** Epoch ms (digits) or ISO 8601 with a time zone; null when it is neither. */
export function parseTime(raw: string): number | null {
  if (/^\d{1,15}$/.test(raw)) return Number(raw);
  if (!ISO_DATETIME_RE.test(raw)) return null;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? null : ms;
}

/** Buckets of `stepMs` (epoch-aligned) that overlap [from, to]. */
export function pointsFor(from: number, to: number, stepMs: number): number {
  return Math.floor(to / stepMs) - Math.floor(from / stepMs) + 1;
}

/**
 * `auto`: the coarsest step that still gives at least MIN_POINTS (the finest when none does).
 * Adjacent steps differ by at most 2.5×, so that is never more than ~715 points. Sub-hour steps
 * come from the 1-minute buckets, so they are only chosen while those still cover `from`.
 */
export function chooseStep(from: number, to: number, now: number, historyDays: number): SeriesStep {
  const minutesCover = from >= now - historyDays * DAY - MINUTE_BUCKETS_SLACK_MS;
  const candidates = STEP_NAMES.filter((s) => minutesCover || SERIES_STEPS[s] % HOUR === 0);
  let pick = candidates[0]!;
  for (const s of candidates) if (pointsFor(from, to, SERIES_STEPS[s]) >= MIN_POINTS) pick = s;
  return pick;
}

export type Parsed = { ok: SeriesRequest } | { error: string };

/** Checks `from`, `to`, `step` and `metrics` against the dashboard; the error names the parameter. */
export function parseSeriesQuery(
  query: Record<string, string | undefined>,
  dashboard: DashboardDef,
  now: number,
  historyDays: number,
): Parsed {
  const time = (name: "from" | "to", fallback: number): number | string => {
    const raw = query[name];
    if (raw === undefined || raw === "") return fallback;
    return (
      parseTime(raw) ??
      `${name}: ${JSON.stringify(raw.slice(0, 40))} is not a time; use ISO 8601 with a zone (2026-11-21T10:00:00Z) or epoch milliseconds`
    );
  };
  const to = time("to", now);
  if (typeof to === "string") return { error: to };
  const from = time("from", to - DEFAULT_RANGE_MS);
  if (typeof from === "string") return { error: from };
  if (from > to) return { error: `from (${new Date(from).toISOString()}) is after to (${new Date(to).toISOString()})` };
  if (to - from > SERIES_MAX_DAYS * DAY)
    return { error: `the range from–to is over ${SERIES_MAX_DAYS} days; ask for at most ${SERIES_MAX_DAYS} days at a time` };

  const names = dashboard.metrics.map((m) => m.name);
  let metrics = names;
  if (query.metrics !== undefined) {
    const asked = query.metrics
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = asked.filter((n) => !names.includes(n));
    if (asked.length === 0 || unknown.length > 0) {
      return {
        error: `metrics: unknown metric ${(unknown.length ? unknown : [query.metrics]).map((n) => JSON.stringify(n)).join(", ")}; known: ${names.join(", ")}`,
      };
    }
    metrics = names.filter((n) => asked.includes(n));
  }

  const rawStep = query.step ?? "auto";
  let step: SeriesStep;
  if (rawStep === "auto" || rawStep === "") step = chooseStep(from, to, now, historyDays);
  else if (Object.hasOwn(SERIES_STEPS, rawStep)) step = rawStep as SeriesStep;
  else return { error: `step: unknown step ${JSON.stringify(rawStep.slice(0, 20))}; use auto or one of ${STEP_NAMES.join(", ")}` };
  const points = pointsFor(from, to, SERIES_STEPS[step]);
  if (points > MAX_POINTS)
    return { error: `step: ${step} over this range gives ${points} points; at most ${MAX_POINTS}: use a coarser step or auto` };
  return { ok: { from, to, step, metrics } };
}

/** True when no sample can land in the range's buckets any more (older than the ingest window). */
export function isSettled({ to, step }: Pick<SeriesRequest, "to" | "step">, now: number, retentionSeconds: number): boolean {
  const stepMs = SERIES_STEPS[step];
  const end = (Math.floor(to / stepMs) + 1) * stepMs; // the last bucket's end, exclusive
  return end <= now - retentionSeconds * 1000 - SETTLE_MARGIN_MS;
}

/** A strong ETag from the body's bytes: equal answers, equal tags, whoever computed them. */
export async function etagOf(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  return `"${Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t.replace(/^W\//, "") === etag;
  });
}

/** The Worker's cache key: the normalized query, so equivalent URLs share one entry. */
export function cacheKey(dashboard: string, { from, to, step, metrics }: SeriesRequest): string {
  return `https://series.cache/v1/${dashboard}?from=${from}&to=${to}&step=${step}&metrics=${metrics.join(",")}`;
}

type AppEnv = { Bindings: Env; Variables: { dashboard: DashboardDef } };

export function mountSeries(app: Hono<AppEnv>): void {
  app.get(
    "/api/dashboards/:id/series",
    // Like /stats: with viewer auth on, the viewer token (Bearer) is needed.
    async (c, next) => (readConfig(c.env).viewer ? requireBearer((c) => readConfig(c.env).viewer?.token, "viewer token")(c, next) : next()),
    async (c) => {
      const config = readConfig(c.env);
      const now = Date.now();
      const { id } = c.get("dashboard");
      const parsed = parseSeriesQuery(c.req.query(), c.get("dashboard"), now, config.historyDays);
      if ("error" in parsed) return jsonError(c, 400, "invalid_query", parsed.error);
      const request = parsed.ok;
      const settled = isSettled(request, now, config.retentionSeconds);
      // With viewer auth on, shared caches must not keep answers; the Worker's own cache is
      // behind the auth check above, so it still may.
      const scope = config.viewer ? "private" : "public";
      let cacheControl = settled ? `${scope}, max-age=${LONG_MAX_AGE}, immutable` : `${scope}, max-age=${SHORT_MAX_AGE}`;
      const key = settled ? cacheKey(id, request) : null;

      let json: string;
      let etag: string;
      const cached = key ? await caches.default.match(key) : undefined;
      if (cached) {
        json = await cached.text();
        etag = cached.headers.get("ETag") ?? (await etagOf(json));
      } else {
        const result = await c.env.DASHBOARD.getByName(id).series(request);
        json = result.json;
        etag = await etagOf(json);
        if (!result.complete) cacheControl = "no-store";
        else if (key) {
          // Awaited rather than waitUntil: a few ms once per old range, and the next request hits.
          const headers = {
            "Content-Type": "application/json; charset=utf-8",
            ETag: etag,
            "Cache-Control": `public, max-age=${LONG_MAX_AGE}`,
          };
          await caches.default.put(key, new Response(json, { headers }));
        }
      }
      const headers = { ETag: etag, "Cache-Control": cacheControl };
      if (matchesEtag(c.req.header("If-None-Match"), etag)) return c.body(null, 304, headers);
      return c.body(json, 200, { ...headers, "Content-Type": "application/json; charset=utf-8" });
    },
  );
}

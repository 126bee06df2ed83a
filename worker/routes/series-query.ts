// The history route's query (worker/routes/series.ts): `from`, `to`, `step` and `metrics`
// checked against the dashboard, the `auto` step chosen, whether the range is settled (no sample
// can land in it any more) and the Worker's cache key. Plain code rather than zod: six
// parameters, and the bundle stays small.
import { SERIES_MAX_DAYS, SERIES_STEPS, type DashboardDef, type SeriesStep } from "../../contract/index.ts";
import { DAY_MS, HOUR_MS, MINUTE_BUCKETS_SLACK_MS } from "../../core/history.ts";
import { ISO_DATETIME_RE } from "../../core/ingest/samples.ts";
import { parseMetricList } from "../../core/metric-list.ts";
import type { SeriesRequest } from "../../core/rpc.ts";
/**
 * `auto` aims at the coarsest step with at least ~300 points: 285 (300 less 5 %), so that a day
 * in 5-minute buckets (288 or 289 points) counts…
 */
export const MIN_POINTS = 285;
/** …and no answer has more than this many per series (an explicit step that would is refused). */
export const MAX_POINTS = 1500;
/** Without `from`, the last 24 hours. */
export const DEFAULT_RANGE_MS = DAY_MS;
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
  const minutesCover = from >= now - historyDays * DAY_MS - MINUTE_BUCKETS_SLACK_MS;
  const candidates = STEP_NAMES.filter((s) => minutesCover || SERIES_STEPS[s] % HOUR_MS === 0);
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
  if (to - from > SERIES_MAX_DAYS * DAY_MS)
    return { error: `the range from–to is over ${SERIES_MAX_DAYS} days; ask for at most ${SERIES_MAX_DAYS} days at a time` };

  const names = dashboard.metrics.map((m) => m.name);
  let metrics = names;
  if (query.metrics !== undefined) {
    const list = parseMetricList(query.metrics, names);
    if ("error" in list) return list;
    metrics = list.names;
  }

  const rawStep = query.step ?? "auto";
  let step: SeriesStep;
  if (rawStep === "auto" || rawStep === "") step = chooseStep(from, to, now, historyDays);
  else if (Object.hasOwn(SERIES_STEPS, rawStep)) step = rawStep as SeriesStep;
  else return { error: `step: unknown step ${JSON.stringify(rawStep.slice(0, 20))}; use auto or one of ${STEP_NAMES.join(", ")}` };
  const stepMs = SERIES_STEPS[step];
  const points = pointsFor(from, to, stepMs);
  if (points > MAX_POINTS)
    return { error: `step: ${step} over this range gives ${points} points; at most ${MAX_POINTS}: use a coarser step or auto` };
  // The answer is the buckets that overlap [from, to]: the same for any from/to inside the same
  // two buckets. Floored to the step, such queries are one query, one cache entry, one object call.
  return { ok: { from: Math.floor(from / stepMs) * stepMs, to: Math.floor(to / stepMs) * stepMs, step, metrics } };
}

/** True when no sample can land in the range's buckets any more (older than the ingest window). */
export function isSettled({ to, step }: Pick<SeriesRequest, "to" | "step">, now: number, retentionSeconds: number): boolean {
  const stepMs = SERIES_STEPS[step];
  const end = (Math.floor(to / stepMs) + 1) * stepMs; // the last bucket's end, exclusive
  return end <= now - retentionSeconds * 1000 - SETTLE_MARGIN_MS;
}

/** The Worker's cache key: the normalized query (from/to floored to the step), so equivalent URLs share one entry. */
export function cacheKey(dashboard: string, { from, to, step, metrics }: SeriesRequest): string {
  return `https://series.cache/v1/${dashboard}?from=${from}&to=${to}&step=${step}&metrics=${metrics.join(",")}`;
}

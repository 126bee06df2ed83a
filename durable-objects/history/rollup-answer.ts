// A history answer from the buckets: the tier that fits the step, its buckets folded into the
// step's, one column per metric, aligned on the buckets where any of them has data. A split
// metric also gets `by`: its series' columns (`metric|series` in the buckets), the worst first,
// at most its maxSeries.
import {
  isSplit,
  round,
  SERIES_STEPS,
  splitKey,
  type Direction,
  type MetricDef,
  type SeriesColumns,
  type SeriesStep,
} from "../../contract/index.ts";
import { slotFields, TIERS, type Bucket, type Tier } from "./buckets.ts";

/** Columns of one metric, with `count` (the HTTP answer leaves it out; tests and tools use it). */
export type RollupColumns = SeriesColumns & { count: (number | null)[]; by?: Record<string, SeriesColumns & { count: (number | null)[] }> };

/** A metric as the answer needs it: a split one says how many series, and which side is worst. */
export interface AnswerMetric {
  name: string;
  decimals: number;
  split?: { maxSeries: number; direction: Direction };
}

export interface RollupAnswer {
  step: SeriesStep;
  t: number[];
  series: Record<string, RollupColumns>;
}

/** A defined metric as the answer needs it. */
export function answerMetric(def: MetricDef): AnswerMetric {
  const { name, decimals } = def;
  return isSplit(def) ? { name, decimals, split: { maxSeries: def.maxSeries!, direction: def.direction } } : { name, decimals };
}

type Columns = { t: number[]; min: number[]; max: number[]; avg: number[]; last: number[]; count: number[] };

/**
 * The answer for buckets of `step` (epoch-aligned) that overlap [fromMs, toMs], as JSON text.
 * `t` lists the buckets where any of the metrics has data; a metric without data in one of them
 * gets null there. `buckets(tier, lo, hi)` gives the tier's buckets that start in [lo, hi).
 */
export function answerJson(
  metrics: readonly AnswerMetric[],
  fromMs: number,
  toMs: number,
  step: SeriesStep,
  withCount: boolean,
  buckets: (tier: Tier, lo: number, hi: number) => Map<number, Bucket>,
): string {
  const stepMs = SERIES_STEPS[step];
  const tier = TIERS.findLast((t) => stepMs % t.ms === 0)!; // the coarsest that fits
  const lo = Math.floor(fromMs / stepMs) * stepMs;
  const hi = (Math.floor(toMs / stepMs) + 1) * stepMs;
  const found = buckets(tier, lo, hi);
  const starts = [...found.keys()].sort((a, b) => a - b);
  const columns = metrics.map(({ name, decimals }) => columnsOf(name, decimals, starts, found, stepMs));
  // Usually every metric has data in the same buckets; otherwise align them on the union.
  const first = columns.find((c) => c.t.length > 0)?.t ?? [];
  const shared = columns.every((c) => c.t.length === 0 || sameTimes(c.t, first));
  const t = shared ? first : [...new Set(columns.flatMap((c) => c.t))].sort((a, b) => a - b);
  const index = shared ? null : new Map(t.map((bt, i) => [bt, i]));
  const keys = ["min", "max", "avg", "last", ...(withCount ? (["count"] as const) : [])] as const;
  let pos = index;
  const align = (c: Columns, own: boolean): Record<string, (number | null)[]> => {
    if (!own) pos ??= new Map(t.map((bt, i) => [bt, i]));
    const out: Record<string, (number | null)[]> = {};
    for (const k of keys) {
      if (own && c.t.length === t.length) out[k] = c[k];
      else {
        const col = new Array<number | null>(t.length).fill(null);
        c.t.forEach((bt, j) => {
          const at = pos ? pos.get(bt) : j;
          if (at !== undefined) col[at] = c[k][j]!;
        });
        out[k] = col;
      }
    }
    return out;
  };
  const series: Record<string, Record<string, unknown>> = {};
  metrics.forEach(({ name, decimals, split }, m) => {
    const out: Record<string, unknown> = align(columns[m]!, true);
    if (split) out.by = splitColumns(name, decimals, split, starts, found, stepMs, (c) => align(c, false));
    series[name] = out;
  });
  return JSON.stringify({ step, t, series });
}

/** A split metric's series seen in the buckets: at most `maxSeries`, the worst (by max, or min for "below") first. */
function splitColumns(
  name: string,
  decimals: number,
  { maxSeries, direction }: NonNullable<AnswerMetric["split"]>,
  starts: number[],
  found: Map<number, Bucket>,
  stepMs: number,
  align: (c: Columns) => Record<string, (number | null)[]>,
): Record<string, unknown> {
  const prefix = splitKey(name, "");
  const names = new Set<string>();
  for (const bucket of found.values())
    for (const column of bucket.keys()) if (column.startsWith(prefix)) names.add(column.slice(prefix.length));
  const worst = (c: Columns) => (direction === "below" ? -Math.min(...c.min) : Math.max(...c.max));
  const all = [...names].map((s) => ({ s, c: columnsOf(splitKey(name, s), decimals, starts, found, stepMs) }));
  all.sort((a, b) => worst(b.c) - worst(a.c) || (a.s < b.s ? -1 : 1));
  const by: Record<string, unknown> = {};
  for (const { s, c } of all.slice(0, maxSeries)) by[s] = align(c);
  return by;
}

/** One metric's non-empty buckets of `stepMs`, merged from the tier's buckets in time order. */
function columnsOf(name: string, decimals: number, starts: number[], found: Map<number, Bucket>, stepMs: number): Columns {
  const c: Columns = { t: [], min: [], max: [], avg: [], last: [], count: [] };
  let b = NaN;
  let [mn, mx, sum, n, last] = [0, 0, 0, 0, 0];
  const flush = () => {
    if (n === 0) return;
    c.t.push(b);
    c.min.push(mn);
    c.max.push(mx);
    c.avg.push(round(sum / n, decimals + 2));
    c.last.push(last);
    c.count.push(n);
    n = 0;
  };
  for (const start of starts) {
    const slot = found.get(start)!.get(name);
    if (!slot) continue;
    const s = slotFields(slot);
    if (s.count === 0) continue;
    const bt = start - (start % stepMs);
    if (bt !== b) {
      flush();
      b = bt;
      [mn, mx, sum, n] = [s.min, s.max, 0, 0];
    }
    if (s.min < mn) mn = s.min;
    if (s.max > mx) mx = s.max;
    sum += s.sum;
    n += s.count;
    last = s.last; // buckets come in time order: the latest non-empty one wins
  }
  flush();
  return c;
}

function sameTimes(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

// Split metrics (`source.by`) inside the dashboard object: which series each one holds, their
// latest values, and the metric's own value made from them. The single writer sees every point,
// so the cap (`maxSeries`), staleness (`staleSeconds`) and the aggregate are judged here, for
// every protocol alike (JSON samples and mapped points arrive as `Partial`s).
//
// - A series is live from its first point until `staleSeconds` pass without one, measured in
//   sample time against the newest sample of the metric (a backfill judges by its own times; a
//   metric nobody sends anything for keeps its series until the next sample, since the object
//   has no timer). A stale series leaves: it frees its place under the cap, no longer counts in
//   the aggregate, and is reported `gone` with the sample that noticed it (its alert level, if
//   any, is cleared with a `resolved` alert: contract/alerts.ts).
// - A new series past `maxSeries` live ones is refused by name, never merged or dropped quietly.
// - The metric's own value at time t is its `source.aggregate` (default: the worst, `max` for
//   "above", `min` for "below") of the series that reported at t and the other live series'
//   latest values from before t.
// - Plans are all or nothing: `complete` works on copies, `apply` keeps them once published.
// - Memory: at most `maxSeries` (≤ 100) entries per split metric, names ≤ 128 characters.
//   After a restart the entries are rebuilt from the recent window's events (`rebuild`).
import {
  AGGREGATE,
  EVENT,
  isSplit,
  round,
  splitAggregate,
  type AlertState,
  type DashboardDef,
  type GoneSeries,
  type MetricDef,
  type MetricUpdate,
} from "../../contract/index.ts";
import { checkValue, toUpdate } from "../../core/ingest/samples.ts";
import { Refusals } from "../../core/ingest/refusals.ts";

/** A sample before its split metrics' own values are known. */
export interface Partial {
  timeMs: number;
  /** Plain metrics' values (checked). */
  values: Record<string, number>;
  /** Split metrics' series values (checked, scaled). */
  series: Record<string, Record<string, number>>;
  /** Points each series came from (what a refusal counts)… */
  points?: Record<string, Record<string, number>>;
  /** …and where its first one was (a line number); else the sample's `ref` (-1: no place). */
  refs?: Record<string, Record<string, number>>;
  ref: number;
}

interface Held {
  t: number;
  v: number;
}

type Live = Map<string, Held>;

export interface Completed {
  samples: MetricUpdate[];
  /** Per sample: the series that went stale with it. */
  gone: GoneSeries[][];
  refused: ReturnType<Refusals["result"]>;
  /** Keeps the series this plan admitted and updated (call it once the samples are published). */
  apply: () => void;
}

export class SplitSeries {
  private readonly defs: Map<string, MetricDef>;
  private live = new Map<string, Live>();
  private newest = new Map<string, number>();

  constructor(private readonly dashboard: DashboardDef) {
    this.defs = new Map(dashboard.metrics.filter(isSplit).map((d) => [d.name, d]));
  }

  /** Whether the dashboard has split metrics at all. */
  get any(): boolean {
    return this.defs.size > 0;
  }

  /** Each split metric's live series (tests, stats). */
  liveSeries(metric: string): string[] {
    return [...(this.live.get(metric)?.keys() ?? [])];
  }

  /**
   * After a start: the series from the recent window's events, and the alert levels of series no
   * longer held (silent past the window) dropped, since nothing will report those gone.
   */
  learn(entries: Iterable<{ event: string; data: string; payload?: Record<string, unknown> }>, alertState: AlertState): void {
    const samples: MetricUpdate[] = [];
    for (const e of entries) {
      if (e.event !== EVENT.metric) continue;
      samples.push((e.payload ??= JSON.parse(e.data) as Record<string, unknown>) as unknown as MetricUpdate);
    }
    this.rebuild(samples);
    for (const key of Object.keys(alertState)) {
      const bar = key.indexOf("|");
      if (bar > 0 && this.defs.has(key.slice(0, bar)) && !this.live.get(key.slice(0, bar))?.has(key.slice(bar + 1))) delete alertState[key];
    }
  }

  /** Relearns the series from published samples (oldest first): after a restart, from the recent window. */
  rebuild(samples: Iterable<{ series?: MetricUpdate["series"]; timestamp: string }>): void {
    for (const s of samples) {
      if (!s.series) continue;
      const t = Date.parse(s.timestamp);
      for (const metric in s.series) {
        const def = this.defs.get(metric);
        if (!def) continue;
        let live = this.live.get(metric);
        if (!live) this.live.set(metric, (live = new Map()));
        const values = s.series[metric]!;
        for (const name in values) {
          const held = live.get(name);
          if (!held || held.t <= t) live.set(name, { t, v: values[name]! });
        }
        this.newest.set(metric, Math.max(this.newest.get(metric) ?? -Infinity, t));
      }
    }
    // Past the cap (a smaller maxSeries since): the most recent stay.
    for (const [metric, live] of this.live) {
      const max = this.defs.get(metric)!.maxSeries!;
      if (live.size > max) this.live.set(metric, new Map([...live].sort((a, b) => b[1].t - a[1].t).slice(0, max)));
    }
  }

  /** The samples as published (definition order, the aggregates in), in time order; nothing kept until `apply`. */
  complete(partials: readonly Partial[]): Completed {
    const refused = new Refusals();
    const live = new Map<string, Live>();
    const newest = new Map(this.newest);
    const work = (metric: string): Live => {
      let l = live.get(metric);
      if (!l) live.set(metric, (l = new Map(this.live.get(metric))));
      return l;
    };
    const samples: MetricUpdate[] = [];
    const gone: GoneSeries[][] = [];
    const carried: GoneSeries[] = [];
    for (const p of [...partials].sort((a, b) => a.timeMs - b.timeMs)) {
      const t = p.timeMs;
      const values = { ...p.values };
      const series: Record<string, Record<string, number>> = {};
      const left: GoneSeries[] = [];
      for (const metric in p.series) {
        const def = this.defs.get(metric)!;
        const held = work(metric);
        const staleMs = def.staleSeconds! * 1000;
        const top = Math.max(newest.get(metric) ?? -Infinity, t);
        newest.set(metric, top);
        const reported = p.series[metric]!;
        for (const [name, h] of held) {
          if (h.t < top - staleMs && !Object.hasOwn(reported, name)) {
            held.delete(name);
            left.push({ metric, series: name, value: h.v });
          }
        }
        const kept: Record<string, number> = {};
        let any = false;
        for (const name in reported) {
          const v = round(reported[name]!, def.decimals);
          const h = held.get(name);
          if (!h && held.size >= def.maxSeries!) {
            const reason =
              `metric "${metric}": series "${name}" refused: it holds ${def.maxSeries} live series already (maxSeries); ` +
              `a series leaves after ${def.staleSeconds} s without points (staleSeconds)`;
            refused.add(reason, p.points?.[metric]?.[name] ?? 1, p.refs?.[metric]?.[name] ?? p.ref);
            continue;
          }
          if (!h || h.t <= t) held.set(name, { t, v });
          kept[name] = v;
          any = true;
        }
        if (!any) continue;
        // Its own value: the series at t and the other live series' latest values from before it.
        const list = Object.values(kept);
        for (const [name, h] of held) if (!Object.hasOwn(kept, name) && h.t <= t && h.t >= t - staleMs) list.push(h.v);
        const value = list.length === 1 ? list[0]! : AGGREGATE[splitAggregate(def)](list);
        const problem = checkValue(def, value, false);
        if (problem) {
          refused.add(`metric "${metric}" at ${new Date(t).toISOString()}: its ${splitAggregate(def)} ${problem}`, list.length, p.ref);
          continue;
        }
        values[metric] = value;
        series[metric] = kept;
      }
      carried.push(...left);
      if (Object.keys(values).length === 0) continue; // what went stale leaves with the next sample
      samples.push(toUpdate(this.dashboard, values, t, Object.keys(series).length > 0 ? series : undefined));
      gone.push(carried.splice(0));
    }
    if (carried.length > 0) {
      // No sample after them: with the last one, or (none at all) they stay until one comes.
      if (gone.length > 0) gone[gone.length - 1]!.push(...carried);
      else for (const g of carried) work(g.metric).set(g.series, { t: -Infinity, v: g.value });
    }
    return {
      samples,
      gone,
      refused: refused.result(),
      apply: () => {
        for (const [metric, l] of live) this.live.set(metric, l);
        this.newest = newest;
      },
    };
  }
}

/** A JSON sample (core/ingest/samples.ts: split metrics carry only `series`) as a `Partial`. */
export function partialOf(sample: MetricUpdate): Partial {
  const values: Record<string, number> = {};
  for (const key in sample) if (typeof sample[key] === "number") values[key] = sample[key];
  const series: Record<string, Record<string, number>> = {};
  for (const metric in sample.series ?? {}) series[metric] = { ...sample.series![metric]! };
  return { timeMs: Date.parse(sample.timestamp), values, series, ref: -1 };
}

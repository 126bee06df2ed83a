// Mapped points (worker/series-mapping.ts) → the dashboard's samples, inside its object: counter
// rates, then `source.aggregate` across series, then `source.scale`, then the same checks and
// rounding as JSON ingest (`checkValue`, `toUpdate`). Points of one request that share a time
// become one sample. A split metric (`source.by`) keeps one value per series (several series
// with the same `by` value combined by `source.aggregate`), and split-series.ts makes the
// metric's own value and holds the cap. Pure apart from reading counter and series state; the
// object saves the state and publishes the samples in one commit.
import { AGGREGATE, METRICS, type DashboardDef, type GoneSeries, type MetricDef, type MetricUpdate } from "../../contract/index.ts";
import { checkValue } from "../../core/ingest/samples.ts";
import type { SeriesBatch } from "../../core/ingest/batches.ts";
import { Refusals, type Refused } from "../../core/ingest/refusals.ts";
import { counterRates, type CounterState } from "./counter-rates.ts";
import type { Partial, SplitSeries } from "./split-series.ts";

export interface Assembled {
  samples: MetricUpdate[];
  /** Per sample: the split metrics' series that went stale with it. */
  gone: GoneSeries[][];
  /** Keeps the split metrics' series state (once the samples are published). */
  keepSeries: () => void;
  refused: Refused;
  /** Counter states to save once the samples are published. */
  counters: Map<string, CounterState>;
  /** Counter series whose baseline was set anew (their first point, or a reset). */
  rebased: Set<string>;
}

interface Slot {
  /** Per series: its value at this time (a series' last point at one time wins). */
  values: Map<string, number>;
  /** Per series key: its `by` value and where its first point came from (split metrics only). */
  split?: Map<string, { series: string; ref: number }>;
  points: number;
  ref: number;
}

export function assemble(
  dashboard: DashboardDef,
  batches: readonly SeriesBatch[],
  counter: (key: string) => CounterState | undefined,
  splits: SplitSeries,
): Assembled {
  const refused = new Refusals();
  const counters = new Map<string, CounterState>();
  const rebased = new Set<string>();
  /** metric → time → slot */
  const slots = new Map<string, Map<number, Slot>>();
  for (const batch of batches) {
    let values: readonly (number | string | undefined)[] = batch.value;
    if (batch.kind !== "gauge") {
      const rates = counterRates(batch, counters.get(batch.key) ?? counter(batch.key));
      values = rates.values;
      if (rates.next) counters.set(batch.key, rates.next);
      if (rates.rebased) rebased.add(batch.key);
    }
    let byTime = slots.get(batch.metric);
    if (!byTime) slots.set(batch.metric, (byTime = new Map()));
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === undefined) continue; // a counter's baseline
      if (typeof v === "string") {
        refused.add(`metric "${batch.metric}": ${batch.key}: ${v}`, 1, batch.ref[i]);
        continue;
      }
      const t = batch.timeMs[i]!;
      let slot = byTime.get(t);
      if (!slot) byTime.set(t, (slot = { values: new Map(), points: 0, ref: batch.ref[i]! }));
      slot.values.set(batch.key, v);
      if (batch.series !== undefined && !slot.split?.has(batch.key))
        (slot.split ??= new Map()).set(batch.key, { series: batch.series, ref: batch.ref[i]! });
      slot.points++;
    }
  }

  const defs = new Map(dashboard.metrics.map((d) => [d.name, d]));
  const samples = new Map<number, Partial & { count: number }>();
  for (const [metric, byTime] of slots) {
    const def: MetricDef = defs.get(metric)!;
    const { aggregate = "sum", scale = 1 } = def.source ?? {};
    for (const [t, slot] of byTime) {
      let sample = samples.get(t);
      const at = () => {
        if (!sample) samples.set(t, (sample = { timeMs: t, values: {}, series: {}, points: {}, refs: {}, ref: slot.ref, count: 0 }));
        return sample;
      };
      if (slot.split) {
        // One value per series: the series keys of each `by` value combined (mapping.ts allowed several only with an aggregate).
        const groups = new Map<string, number[]>();
        const refs = new Map<string, number>();
        for (const [key, v] of slot.values) {
          const { series: name, ref } = slot.split.get(key)!;
          groups.set(name, [...(groups.get(name) ?? []), v]);
          if (!refs.has(name)) refs.set(name, ref);
        }
        for (const [name, list] of groups) {
          const value = (list.length === 1 ? list[0]! : AGGREGATE[aggregate](list)) * scale;
          const problem = checkValue(def, value, false);
          if (problem) {
            refused.add(`metric "${metric}" series "${name}" at ${new Date(t).toISOString()}: ${problem}`, list.length, slot.ref);
            continue;
          }
          const s = at();
          (s.series[metric] ??= {})[name] = value;
          (s.points![metric] ??= {})[name] = list.length;
          (s.refs![metric] ??= {})[name] = refs.get(name)!;
          s.count += list.length;
        }
        continue;
      }
      const list = [...slot.values.values()];
      const value = (list.length === 1 ? list[0]! : AGGREGATE[aggregate](list)) * scale;
      const problem = checkValue(def, value, dashboard.seed);
      if (problem) {
        refused.add(`metric "${metric}" at ${new Date(t).toISOString()}: ${problem}`, slot.points, slot.ref);
        continue;
      }
      const s = at();
      s.values[metric] = value;
      s.count += slot.points;
    }
  }

  const partials: Partial[] = [];
  for (const sample of samples.values()) {
    // The seed's five always come complete on the wire, whatever the protocol.
    const missing = dashboard.seed ? METRICS.filter((m) => sample.values[m] === undefined) : [];
    if (missing.length > 0) {
      refused.add(
        `sample at ${new Date(sample.timeMs).toISOString()}: the seed's five come complete; missing ${missing.join(", ")}`,
        sample.count,
        sample.ref,
      );
      continue;
    }
    partials.push(sample);
  }
  const done = splits.complete(partials);
  for (const reason of done.refused.reasons) refused.note(reason, done.refused.first?.ref ?? -1);
  refused.count += done.refused.count;
  return { samples: done.samples, gone: done.gone, keepSeries: done.apply, refused: refused.result(), counters, rebased };
}

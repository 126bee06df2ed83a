// Mapped points (worker/series-mapping.ts) → the dashboard's samples, inside its object: counter
// rates, then `source.aggregate` across series, then `source.scale`, then the same checks and
// rounding as JSON ingest (`checkValue`, `toUpdate`). Points of one request that share a time
// become one sample. Pure apart from reading counter state; the object saves the state and
// publishes the samples in one commit.
import { METRICS, type DashboardDef, type MetricDef, type MetricUpdate, type SourceAggregate } from "../../contract/index.ts";
import { checkValue, toUpdate } from "../../core/ingest/samples.ts";
import type { SeriesBatch } from "../../core/ingest/batches.ts";
import { Refusals, type Refused } from "../../core/ingest/refusals.ts";
import { counterRates, type CounterState } from "./counter-rates.ts";

export interface Assembled {
  samples: MetricUpdate[];
  refused: Refused;
  /** Counter states to save once the samples are published. */
  counters: Map<string, CounterState>;
  /** Counter series whose baseline was set anew (their first point, or a reset). */
  rebased: Set<string>;
}

interface Slot {
  /** Per series: its value at this time (a series' last point at one time wins). */
  values: Map<string, number>;
  points: number;
  ref: number;
}

const combine: Record<SourceAggregate, (v: number[]) => number> = {
  sum: (v) => v.reduce((a, b) => a + b, 0),
  avg: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  min: (v) => Math.min(...v),
  max: (v) => Math.max(...v),
};

export function assemble(
  dashboard: DashboardDef,
  batches: readonly SeriesBatch[],
  counter: (key: string) => CounterState | undefined,
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
      slot.points++;
    }
  }

  const defs = new Map(dashboard.metrics.map((d) => [d.name, d]));
  const samples = new Map<number, { values: Record<string, number>; points: number; ref: number }>();
  for (const [metric, byTime] of slots) {
    const def: MetricDef = defs.get(metric)!;
    const { aggregate = "sum", scale = 1 } = def.source ?? {};
    for (const [t, slot] of byTime) {
      const list = [...slot.values.values()];
      const value = (list.length === 1 ? list[0]! : combine[aggregate](list)) * scale;
      const problem = checkValue(def, value, dashboard.seed);
      if (problem) {
        refused.add(`metric "${metric}" at ${new Date(t).toISOString()}: ${problem}`, slot.points, slot.ref);
        continue;
      }
      let sample = samples.get(t);
      if (!sample) samples.set(t, (sample = { values: {}, points: 0, ref: slot.ref }));
      sample.values[metric] = value;
      sample.points += slot.points;
    }
  }

  const out: MetricUpdate[] = [];
  for (const t of [...samples.keys()].sort((a, b) => a - b)) {
    const sample = samples.get(t)!;
    // The seed's five always come complete on the wire, whatever the protocol.
    const missing = dashboard.seed ? METRICS.filter((m) => sample.values[m] === undefined) : [];
    if (missing.length > 0) {
      refused.add(
        `sample at ${new Date(t).toISOString()}: the seed's five come complete; missing ${missing.join(", ")}`,
        sample.points,
        sample.ref,
      );
      continue;
    }
    out.push(toUpdate(dashboard, sample.values, t));
  }
  return { samples: out, refused: refused.result(), counters, rebased };
}

// Monotonic counters (OTLP monotonic sums) → per-second rates, per series. Lives in the
// dashboard object (the single writer sees every point of its dashboard, in order) and keeps
// what each series needs in memory and in the object's SQLite, so a restart neither loses the
// baseline nor invents a rate: at worst the next point's rate averages a longer interval.
//
// Cumulative: rate = (v − v_prev) / (t − t_prev). The first point of a series, a point whose
// value dropped or whose start time changed (a counter reset: the process restarted) only sets
// the baseline; a point not newer than the last one is ignored. Never a negative rate.
// Delta: rate = v / (t − start) when the point has a start time; else against the previous
// point's time; the first point without a start time is a baseline. A negative delta on a
// monotonic sum is refused.
import type { SeriesBatch } from "../../core/ingest/batches.ts";
import type { Sql } from "../storage/meter.ts";

export interface CounterState {
  /** Time (ms), value and start time (ms, 0 when absent) of the series' last point. */
  t: number;
  v: number;
  s: number;
}

/** Series state kept at most; past it, the series not heard from longest are forgotten. */
export const MAX_COUNTER_SERIES = 10_000;

export interface RateResult {
  /** Per point: its rate, undefined for a baseline or ignored point, or a string: why it is refused. */
  values: (number | string | undefined)[];
  /** The series' state after these points (save it only when they are published). */
  next: CounterState | undefined;
  /** A point set a new baseline (the series' first point, or a reset): store it at once. */
  rebased: boolean;
}

/** Rates for one counter batch (points in any order), given the series' last state. Pure. */
export function counterRates(batch: SeriesBatch, prev: CounterState | undefined): RateResult {
  const n = batch.timeMs.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => batch.timeMs[a]! - batch.timeMs[b]!);
  const values: RateResult["values"] = new Array(n);
  let state = prev;
  let rebased = false;
  for (const i of order) {
    const t = batch.timeMs[i]!;
    const v = batch.value[i]!;
    const s = Number.isNaN(batch.startMs[i]!) ? 0 : batch.startMs[i]!;
    if (batch.kind === "delta") {
      if (v < 0) {
        values[i] = `negative delta ${v} on a monotonic sum`;
        continue;
      }
      const from = s > 0 && s < t ? s : state && state.t < t ? state.t : undefined;
      values[i] = from === undefined ? undefined : v / ((t - from) / 1000);
      if (!state) rebased = true;
      if (!state || t > state.t) state = { t, v, s };
      continue;
    }
    if (state && t <= state.t) {
      values[i] = undefined; // a repeat or out of order: nothing new to say
      continue;
    }
    const reset = !state || v < state.v || (s !== 0 && state.s !== 0 && s !== state.s);
    values[i] = reset ? undefined : (v - state!.v) / ((t - state!.t) / 1000);
    if (reset) rebased = true;
    state = { t, v, s };
  }
  return { values, next: state, rebased };
}

/** A stored baseline older than this is written again; between, what a restart loses is a smoother rate. */
export const COUNTER_WRITE_EVERY_MS = 60_000;

/**
 * The per-series states, loaded lazily from the object's SQLite. Rows written are billed, so a
 * series' state is written when the series appears or resets (a baseline a restart must not
 * lose: a stale one from before a reset would read as another reset) and otherwise at most once
 * a minute: after a restart the next point's rate is the average since the stored point.
 */
export class CounterStore {
  private states: Map<string, CounterState> | null = null;
  private readonly writtenAt = new Map<string, number>();

  constructor(private readonly sql: Sql) {
    sql.exec("CREATE TABLE IF NOT EXISTS counter_series (key TEXT PRIMARY KEY, t REAL NOT NULL, v REAL NOT NULL, s REAL NOT NULL)");
  }

  private load(): Map<string, CounterState> {
    if (!this.states) {
      this.states = new Map();
      for (const row of this.sql.exec<{ key: string; t: number; v: number; s: number }>("SELECT key, t, v, s FROM counter_series")) {
        this.states.set(row.key, { t: row.t, v: row.v, s: row.s });
      }
    }
    return this.states;
  }

  get(key: string): CounterState | undefined {
    return this.load().get(key);
  }

  /**
   * Keeps the states of a published request (`rebased`: the series whose baseline was set anew);
   * forgets the oldest series past MAX_COUNTER_SERIES.
   */
  save(updates: Map<string, CounterState>, rebased: ReadonlySet<string>, now = Date.now()): void {
    const states = this.load();
    for (const [key, st] of updates) {
      states.set(key, st);
      if (rebased.has(key) || now - (this.writtenAt.get(key) ?? 0) >= COUNTER_WRITE_EVERY_MS) {
        this.sql.exec("INSERT OR REPLACE INTO counter_series (key, t, v, s) VALUES (?, ?, ?, ?)", key, st.t, st.v, st.s);
        this.writtenAt.set(key, now);
      }
    }
    if (states.size <= MAX_COUNTER_SERIES) return;
    const oldest = [...states].sort((a, b) => a[1].t - b[1].t).slice(0, states.size - MAX_COUNTER_SERIES);
    for (const [key] of oldest) {
      states.delete(key);
      this.writtenAt.delete(key);
      this.sql.exec("DELETE FROM counter_series WHERE key = ?", key);
    }
  }
}

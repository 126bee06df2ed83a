// What the stream's events make of the page: the rolling series the charts draw, each metric's
// latest value and threshold level, the time of the newest event and the count, and the alert
// feed. useDashboard feeds it the events it accepted; the charts and cards read it.
//
// Values, levels, the last event's time and the count are published once a frame. A burst of
// events (a reconnect's catch-up, or a day's backfill replayed to a new viewer) then costs one
// render, not one per event: per-event updates of the cards and the long charts' live edge kept a
// 24 h page's main thread busy for seconds after its first paint.
import { ref, shallowRef, type Ref, type ShallowRef } from "vue";
import { LIVE_WINDOW_SECONDS, type Alert, type CheckAlert, type MetricDef, type MetricUpdate } from "../../../contract/index.ts";
import { levelOf, onceAFrame, type Level } from "../lib/metrics.ts";
import { RollingSeries } from "../lib/series.ts";

/** A metric alert or a check alert (which has `check` instead of `metric`), as the feed shows it. */
export type AlertItem = (Alert | CheckAlert) & {
  id: string;
  /** Received as it happened, not replayed from history. */
  live: boolean;
};

/** Longest chart window: what the series keep. */
export const MAX_WINDOW_SECONDS = LIVE_WINDOW_SECONDS;
const MAX_ALERTS = 200;
/** Alerts younger than this are news (announced); older ones are history being replayed. */
const LIVE_ALERT_MS = 30_000;

interface Work {
  values: Record<string, number>;
  /** Per split metric: its worst live series' name (what the card names). */
  worst: Record<string, string>;
  levels: Record<string, Level>;
  /** Whether a sample changed them since they were last shown. */
  sampled: boolean;
  lastEventTime: number | null;
  eventCount: number;
}
const empty = (): Work => ({ values: {}, worst: {}, levels: {}, sampled: false, lastEventTime: null, eventCount: 0 });

export interface UseLiveValuesReturn {
  /** A metric's rolling series, or a split metric's series' (`metric|series`), created on first use: what the charts draw. */
  seriesOf: (name: string) => RollingSeries;
  /** A split metric's live series (a point within its staleSeconds of the newest event), the worst first. */
  liveSeries: (def: MetricDef) => string[];
  /** Per split metric: the worst live series' name. */
  worst: Readonly<ShallowRef<Readonly<Record<string, string>>>>;
  /** Bumped at most once a frame after new events: what the charts watch. */
  frame: Readonly<Ref<number>>;
  /** Each metric's latest value (a sample that does not carry a metric leaves it as it was). */
  values: Readonly<ShallowRef<Readonly<Record<string, number>>>>;
  /** Each metric's threshold level, hysteresis included. */
  levels: Readonly<ShallowRef<Readonly<Record<string, Level>>>>;
  /** Epoch ms of the newest event, null before the first. */
  lastEventTime: Readonly<Ref<number | null>>;
  eventCount: Readonly<Ref<number>>;
  /** Newest first, at most 200. */
  alerts: Readonly<ShallowRef<AlertItem[]>>;
  /** Latest non-resolved alert per metric (per `metric|series` for a split metric's). */
  activeAlerts: Readonly<ShallowRef<Readonly<Record<string, AlertItem & Alert>>>>;
  /** The newest live critical alert, for the assertive live region. */
  announcement: Readonly<Ref<string>>;
  metric: (sample: MetricUpdate, defs: readonly MetricDef[]) => void;
  alert: (a: Alert | CheckAlert, id: string) => void;
  /** Counts an event that is neither (a log line, a health run), with its time if it has one. */
  counted: (ms?: number) => void;
  breakSeries: () => void;
  reset: () => void;
}

export function useLiveValues(): UseLiveValuesReturn {
  /** Per metric name, created on first use; cleared (not dropped) when a new stream starts. */
  const series = new Map<string, RollingSeries>();
  const seriesOf = (name: string) => {
    let s = series.get(name);
    if (!s) series.set(name, (s = new RollingSeries(MAX_WINDOW_SECONDS + 30)));
    return s;
  };
  /** Per split metric: each series' latest value and time (s), at most 2 × maxSeries (the longest silent go first). */
  const splits = new Map<string, Map<string, { t: number; v: number }>>();
  function liveSeries(def: MetricDef): string[] {
    const since = (work.lastEventTime ?? 0) / 1000 - def.staleSeconds!;
    const sign = def.direction === "below" ? 1 : -1;
    return [...(splits.get(def.name) ?? [])]
      .filter(([, p]) => p.t >= since)
      .sort((a, b) => sign * (a[1].v - b[1].v) || (a[0] < b[0] ? -1 : 1))
      .slice(0, def.maxSeries)
      .map(([name]) => name);
  }
  const worst = shallowRef<Readonly<Record<string, string>>>({});
  /** Bumped at most once per frame after new samples: what charts watch. */
  const frame = ref(0);
  /**
   * Each metric's latest value. A sample may carry only some metrics (sources report at their
   * own rates): the others keep the value they had.
   */
  const values = shallowRef<Readonly<Record<string, number>>>({});
  /** Each metric's threshold level by the contract's rule, hysteresis included, from the values seen. */
  const levels = shallowRef<Readonly<Record<string, Level>>>({});
  const lastEventTime = ref<number | null>(null);
  const eventCount = ref(0);
  const alerts = shallowRef<AlertItem[]>([]);
  /** Latest non-resolved alert per metric. */
  const activeAlerts = shallowRef<Readonly<Record<string, AlertItem & Alert>>>({});
  const announcement = ref("");
  /** What the events brought since the last frame; published by `show`. */
  let work = empty();

  const show = onceAFrame(() => {
    if (work.sampled) {
      // Copies, once a frame: the refs are shallow, so their readers see a new object.
      values.value = { ...work.values };
      levels.value = { ...work.levels };
      worst.value = { ...work.worst };
      work.sampled = false;
    }
    lastEventTime.value = work.lastEventTime;
    eventCount.value = work.eventCount;
    frame.value++;
  });

  /** Counts an event, and notes its time if it has one (the newest seen); shown on the next frame. */
  function counted(ms?: number): void {
    if (ms !== undefined) work.lastEventTime = Math.max(work.lastEventTime ?? 0, ms);
    work.eventCount++;
    show();
  }

  /** A sample: a point and a value for each defined metric it carries; no value is made up for the others. */
  function metric(sample: MetricUpdate, defs: readonly MetricDef[]): void {
    const ms = Date.parse(sample.timestamp);
    work.lastEventTime = Math.max(work.lastEventTime ?? 0, ms);
    for (const m of defs) {
      const value = sample[m.name];
      if (typeof value !== "number") continue;
      seriesOf(m.name).push(ms / 1000, value);
      work.values[m.name] = value;
      work.levels[m.name] = levelOf(m, value, work.levels[m.name]);
      work.sampled = true;
      const split = sample.series?.[m.name];
      if (!split) continue;
      let held = splits.get(m.name);
      if (!held) splits.set(m.name, (held = new Map()));
      for (const name in split) {
        seriesOf(`${m.name}|${name}`).push(ms / 1000, split[name]!);
        held.delete(name); // re-inserted last: the map runs from the longest silent
        held.set(name, { t: ms / 1000, v: split[name]! });
      }
      for (const name of held.keys()) {
        if (held.size <= 2 * m.maxSeries!) break;
        held.delete(name);
        series.delete(`${m.name}|${name}`);
      }
      work.worst[m.name] = liveSeries(m)[0] ?? "";
    }
    counted(ms);
  }

  function alert(a: Alert | CheckAlert, id: string): void {
    const item: AlertItem = { ...a, id, live: Date.now() - Date.parse(a.timestamp) < LIVE_ALERT_MS };
    alerts.value = [item, ...alerts.value].slice(0, MAX_ALERTS);
    // A check's current trouble is its status (useHealth); a metric's is its latest alert.
    if ("metric" in a) {
      const active = { ...activeAlerts.value };
      const key = a.series === undefined ? a.metric : `${a.metric}|${a.series}`;
      if (a.level === "resolved") delete active[key];
      else active[key] = { ...a, id, live: item.live };
      activeAlerts.value = active;
    }
    if (item.live && a.level === "critical") announcement.value = `Critical alert: ${a.message}`;
    counted(Date.parse(a.timestamp));
  }

  /** A gap in what the server kept: every line breaks there. */
  function breakSeries(): void {
    for (const s of series.values()) s.break();
    show();
  }

  /** Empty, for a new stream. */
  function reset(): void {
    for (const s of series.values()) s.clear();
    splits.clear();
    work = empty();
    values.value = {};
    worst.value = {};
    levels.value = {};
    lastEventTime.value = null;
    eventCount.value = 0;
    alerts.value = [];
    activeAlerts.value = {};
    show();
  }

  return {
    seriesOf,
    liveSeries,
    worst,
    frame,
    values,
    levels,
    lastEventTime,
    eventCount,
    alerts,
    activeAlerts,
    announcement,
    metric,
    alert,
    counted,
    breakSeries,
    reset,
  };
}

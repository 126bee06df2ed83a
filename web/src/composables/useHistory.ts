// Long windows (1 h … 7 d) and zoomed ranges, from the rollups (GET …/series): per metric an
// average line with its min–max band. In a window (not a zoomed range) the newest bucket is
// completed from the live stream, read from the dashboard's rolling series on every frame,
// so the long charts keep moving without polling; their x range follows the live edge in steps.
import {
  computed,
  getCurrentScope,
  onScopeDispose,
  ref,
  shallowRef,
  toValue,
  watch,
  type ComputedRef,
  type MaybeRefOrGetter,
  type Ref,
  type ShallowRef,
} from "vue";
import { SERIES_STEPS, type MetricDef, type SeriesColumns, type SeriesStep } from "../../../contract/index.ts";
import { fetchSeries } from "../lib/api.ts";
import type { RollingSeries } from "../lib/series.ts";
import { formatTime } from "../lib/metrics.ts";
import { LIVE_WINDOW_MINUTES, windowLabel, type TimeRange } from "./useUrlState.ts";

/** One metric's buckets in plain arrays (uPlot reads them as they are). Times in unix seconds. */
export interface Band {
  t: number[];
  min: (number | null)[];
  max: (number | null)[];
  avg: (number | null)[];
}

/** The newest bucket's running time-weighted average: how live samples fold into it. */
interface Tail {
  start: number;
  weight: number;
  sum: number;
  /** Samples up to this time (s) are in the bucket already: the fetch's or the last one folded in. */
  upTo: number;
}

export interface UseHistoryOptions {
  dashboard: MaybeRefOrGetter<string | null>;
  /** The metrics shown, from the definition. */
  selected: MaybeRefOrGetter<readonly MetricDef[]>;
  /** The metrics the address asks for ([] = all of them), known before the definition is. */
  metricNames: MaybeRefOrGetter<readonly string[]>;
  windowMinutes: MaybeRefOrGetter<number>;
  /** A zoomed range (fixed, not live) instead of the window. */
  range: MaybeRefOrGetter<TimeRange | null>;
  /** The live stream's series, which the newest bucket is completed from. */
  seriesOf: (name: string) => RollingSeries;
  /** Moves when the live series have new samples. */
  frame: MaybeRefOrGetter<number>;
  /** The header value when viewer auth is on. */
  authorization?: MaybeRefOrGetter<string | undefined>;
  /** The live edge (unix s): the newest sample's time, or now. */
  end: MaybeRefOrGetter<number>;
}

export interface UseHistoryReturn {
  /** Whether the charts come from the rollups rather than the stream's raw samples. */
  active: ComputedRef<boolean>;
  /** Per metric name; a split metric's series under `metric|series`, in the answer's order (the worst first). */
  bands: Readonly<ShallowRef<Map<string, Band>>>;
  /** The step of the answer shown. */
  step: Readonly<Ref<SeriesStep | null>>;
  status: Readonly<Ref<"idle" | "loading" | "ready" | "error">>;
  /** Bumped whenever a band changes: what the history charts redraw on. */
  version: Readonly<Ref<number>>;
  /** The charts' x range (unix s): the zoomed range, or the window up to the live edge, moved in redraw steps. */
  span: ComputedRef<{ from: number; to: number }>;
  /** What the charts are of, for screen readers: "the last 24 h", or the range. */
  spanText: ComputedRef<string>;
  /** Fetch again (after a failure). */
  reload: () => Promise<void>;
}

export function useHistory(o: UseHistoryOptions): UseHistoryReturn {
  const dashboard = () => toValue(o.dashboard);
  const windowMinutes = () => toValue(o.windowMinutes);
  const range = () => toValue(o.range);
  const metricNames = () => toValue(o.metricNames);
  const chosen = () => toValue(o.selected).map((m) => m.name);
  const active = computed(() => range() !== null || windowMinutes() > LIVE_WINDOW_MINUTES);
  const bands = shallowRef(new Map<string, Band>());
  const step = ref<SeriesStep | null>(null);
  const status = ref<"idle" | "loading" | "ready" | "error">("idle");
  const version = ref(0);
  let tails = new Map<string, Tail>();
  let controller: AbortController | null = null;
  /**
   * How often a long window redraws for live samples: about a pixel's worth of time (a 1 h chart
   * ~1,000 px wide moves a pixel every 3.6 s, a 24 h one every 86 s), at least 1 s and at most
   * 5 s apart. Redrawing five 24 h charts for every sample was most of the page's main-thread
   * time while live.
   */
  const refreshMs = computed(() => Math.min(5000, Math.max(1000, windowMinutes() * 60)));
  let lastBump = 0;
  let bumpTimer: ReturnType<typeof setTimeout> | undefined;
  function bump(): void {
    const wait = lastBump + refreshMs.value - Date.now();
    if (wait > 0) {
      bumpTimer ??= setTimeout(() => {
        bumpTimer = undefined;
        bump();
      }, wait);
      return;
    }
    lastBump = Date.now();
    version.value++;
  }

  async function load(): Promise<void> {
    controller?.abort();
    controller = null;
    const id = dashboard();
    // All metrics (what a plain link shows) need no definition to ask for: the fetch goes out
    // beside the definition's rather than after it. A chosen few wait for it, which drops names
    // the dashboard no longer has.
    const all = metricNames().length === 0;
    const names = chosen();
    if (!active.value || !id || (!all && names.length === 0)) {
      status.value = "idle";
      return;
    }
    const zoomed = range();
    const now = Date.now();
    const metrics = all ? [] : names;
    const query = zoomed ? { from: zoomed.from, to: zoomed.to, metrics } : { from: now - windowMinutes() * 60_000, to: now, metrics };
    const mine = (controller = new AbortController());
    const timeout = setTimeout(() => mine.abort(), 10_000);
    status.value = "loading";
    try {
      const answer = await fetchSeries(id, query, toValue(o.authorization), mine.signal);
      if (controller !== mine) return;
      const stepS = SERIES_STEPS[answer.step] / 1000;
      const t = answer.t.map((ms) => ms / 1000);
      const next = new Map<string, Band>();
      tails = new Map();
      // A split metric's series are bands of their own, `metric|series` (what seriesOf calls their live series), the worst first.
      const columns: [string, SeriesColumns | undefined][] = [];
      for (const name of all ? Object.keys(answer.series) : metrics) {
        const c = answer.series[name];
        columns.push([name, c]);
        for (const s in c?.by ?? {}) columns.push([`${name}|${s}`, c!.by![s]]);
      }
      for (const [name, c] of columns) {
        const band: Band = c ? { t: [...t], min: c.min, max: c.max, avg: c.avg } : { t: [], min: [], max: [], avg: [] };
        next.set(name, band);
        // The fetch's newest bucket, if it is the current one, goes on from the live stream.
        const i = band.t.length - 1;
        const start = band.t[i];
        const avg = band.avg[i];
        if (!zoomed && start !== undefined && avg != null && start + stepS > now / 1000) {
          const weight = Math.max(1, now / 1000 - start);
          tails.set(name, { start, weight, sum: avg * weight, upTo: now / 1000 });
        } else tails.set(name, { start: -Infinity, weight: 0, sum: 0, upTo: now / 1000 });
      }
      step.value = answer.step;
      bands.value = next;
      status.value = "ready";
      version.value++;
    } catch {
      if (controller === mine) status.value = "error";
    } finally {
      clearTimeout(timeout);
    }
  }

  /** Folds the live samples newer than what the band holds into its newest bucket (or a new one). */
  function follow(): void {
    if (!active.value || range() || status.value !== "ready" || !step.value) return;
    const stepS = SERIES_STEPS[step.value] / 1000;
    let changed = false;
    for (const [name, band] of bands.value) {
      const tail = tails.get(name);
      if (!tail) continue;
      const s = o.seriesOf(name);
      let i = s.t.length;
      while (i > 0 && s.t[i - 1]! > tail.upTo) i--;
      for (; i < s.t.length; i++) {
        const t = s.t[i]!;
        const v = s.v[i];
        if (v == null) continue;
        const start = Math.floor(t / stepS) * stepS;
        const n = band.t.length - 1;
        if (start > tail.start) {
          if (n >= 0 && band.t[n] === start) {
            band.min[n] = band.max[n] = band.avg[n] = v;
          } else if (n < 0 || band.t[n]! < start) {
            band.t.push(start);
            band.min.push(v);
            band.max.push(v);
            band.avg.push(v);
          }
          Object.assign(tail, { start, weight: 1, sum: v });
        } else if (start === tail.start && band.t[n] === start) {
          // Each sample weighs the time since the previous one, as the fetched part weighs its span.
          const w = Math.max(1e-3, t - tail.upTo);
          tail.weight += w;
          tail.sum += v * w;
          band.min[n] = Math.min(band.min[n] ?? v, v);
          band.max[n] = Math.max(band.max[n] ?? v, v);
          band.avg[n] = tail.sum / tail.weight;
        }
        tail.upTo = t;
        changed = true;
      }
      // The window slides: buckets that left it are dropped.
      const keepFrom = Date.now() / 1000 - windowMinutes() * 60 - stepS;
      let drop = 0;
      while (drop < band.t.length && band.t[drop]! < keepFrom) drop++;
      if (drop > 0) for (const a of [band.t, band.min, band.max, band.avg]) a.splice(0, drop);
    }
    if (changed) bump();
  }

  const asked = () => (metricNames().length === 0 ? "*" : chosen().join(","));
  watch([active, dashboard, windowMinutes, range, asked], load, { immediate: true });
  watch(() => toValue(o.frame), follow);
  if (getCurrentScope()) {
    onScopeDispose(() => {
      controller?.abort();
      clearTimeout(bumpTimer);
    });
  }

  /** The live edge moved in redraw steps, not every second. */
  const edge = computed(() => {
    const every = refreshMs.value / 1000;
    return Math.ceil(toValue(o.end) / every) * every;
  });
  const span = computed(() => {
    const zoomed = range();
    return zoomed ? { from: zoomed.from / 1000, to: zoomed.to / 1000 } : { from: edge.value - windowMinutes() * 60, to: edge.value };
  });
  const spanText = computed(() => {
    const zoomed = range();
    return zoomed ? `${formatTime(zoomed.from)} to ${formatTime(zoomed.to)}` : `the last ${windowLabel(windowMinutes())}`;
  });

  return { active, bands, step, status, version, span, spanText, reload: load };
}

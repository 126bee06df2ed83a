// The view's state in the address bar: ?dashboard=checkout-api&window=5&metrics=queue_depth,
// or a zoomed range instead of the window: ?dashboard=demo&from=<epoch ms>&to=<epoch ms>.
// Switching dashboards, windows or ranges adds a history entry (Back returns to the previous
// view, so a zoom can be undone); the metric toggles replace it.
// Metric names are kept as written (syntax checked only): which of them exist is known once
// the dashboard's definition has loaded (selectMetrics). No `metrics` means all of them.
import { getCurrentScope, onScopeDispose, ref, watch, type Ref } from "vue";
import { DASHBOARD_ID_RE, LIVE_WINDOW_SECONDS, METRIC_NAME_RE, SERIES_MAX_DAYS } from "../../../contract/index.ts";

/** Chart windows in minutes: up to 15 raw and live from the stream, longer ones from the rollups. */
export const WINDOWS = [1, 5, 15, 60, 360, 1440, 10080] as const;
export type WindowMinutes = (typeof WINDOWS)[number];
/** The longest window the stream's own history covers. */
export const LIVE_WINDOW_MINUTES = LIVE_WINDOW_SECONDS / 60;

export const windowLabel = (w: number): string => (w < 60 ? `${w} min` : w < 1440 ? `${w / 60} h` : w === 1440 ? "24 h" : `${w / 1440} d`);

/** A zoomed range, epoch ms. */
export interface TimeRange {
  from: number;
  to: number;
}

interface UrlState {
  dashboard: string | null;
  window: WindowMinutes;
  range: TimeRange | null;
  /** Empty: every metric the dashboard defines. */
  metrics: string[];
}

function readRange(q: URLSearchParams): TimeRange | null {
  const from = Number(q.get("from"));
  const to = Number(q.get("to"));
  if (!q.has("from") || !q.has("to") || !Number.isSafeInteger(from) || !Number.isSafeInteger(to)) return null;
  return from < to && to - from <= SERIES_MAX_DAYS * 86_400_000 ? { from, to } : null;
}

function read(): UrlState {
  const q = new URLSearchParams(location.search);
  const dashboard = q.get("dashboard");
  const window = Number(q.get("window"));
  const metrics = (q.get("metrics") ?? "").split(",").filter((m) => METRIC_NAME_RE.test(m));
  return {
    dashboard: dashboard && DASHBOARD_ID_RE.test(dashboard) ? dashboard : null,
    window: (WINDOWS as readonly number[]).includes(window) ? (window as WindowMinutes) : 5,
    range: readRange(q),
    metrics: [...new Set(metrics)],
  };
}

function write(state: UrlState, push: boolean): void {
  const q = new URLSearchParams(location.search);
  const set = (key: string, value: string | null) => (value === null ? q.delete(key) : q.set(key, value));
  set("dashboard", state.dashboard);
  // The range, when there is one, is the whole picture; the window comes back when it is left.
  set("window", state.range || state.window === 5 ? null : String(state.window));
  set("from", state.range ? String(state.range.from) : null);
  set("to", state.range ? String(state.range.to) : null);
  set("metrics", state.metrics.length > 0 ? state.metrics.join(",") : null);
  const next = `${location.pathname}?${q.toString().replaceAll("%2C", ",")}${location.hash}`;
  if (next === `${location.pathname}${location.search}${location.hash}`) return;
  if (push) history.pushState(null, "", next);
  else history.replaceState(null, "", next);
}

export interface UseUrlStateReturn {
  dashboard: Ref<string | null>;
  windowMinutes: Ref<WindowMinutes>;
  range: Ref<TimeRange | null>;
  /** As written in the address (empty: all of the dashboard's metrics). */
  metrics: Ref<string[]>;
}

/** The view's state, read from the address and written back to it; Back and Forward restore it. */
export function useUrlState(): UseUrlStateReturn {
  const initial = read();
  const dashboard = ref(initial.dashboard);
  const windowMinutes = ref<WindowMinutes>(initial.window);
  const range = ref<TimeRange | null>(initial.range);
  const metrics = ref<string[]>(initial.metrics);
  let fromPopState = false;
  let popTimer: ReturnType<typeof setTimeout> | undefined;

  // One watcher: a dashboard switch also resets the metrics, and the two must make one entry.
  watch([dashboard, windowMinutes, range, metrics], ([next, w, r], [previous, pw, pr]) => {
    if (fromPopState) return;
    const push = (next !== previous && previous !== null && next !== null) || w !== pw || r !== pr;
    write({ dashboard: dashboard.value, window: windowMinutes.value, range: range.value, metrics: metrics.value }, push);
  });
  const onPopState = () => {
    const state = read();
    fromPopState = true;
    dashboard.value = state.dashboard;
    windowMinutes.value = state.window;
    if (state.range?.from !== range.value?.from || state.range?.to !== range.value?.to) range.value = state.range;
    metrics.value = state.metrics;
    // Watchers run before the next paint; clear the flag after them.
    queueMicrotask(() => (popTimer = setTimeout(() => (fromPopState = false))));
  };
  addEventListener("popstate", onPopState);
  if (getCurrentScope()) {
    onScopeDispose(() => {
      removeEventListener("popstate", onPopState);
      clearTimeout(popTimer);
    });
  }
  return { dashboard, windowMinutes, range, metrics };
}

// The view's state in the address bar: ?dashboard=checkout-api&window=5&metrics=queue_depth.
// Switching dashboards adds a history entry (Back returns to the previous one); the rest
// replaces it.
// Metric names are kept as written (syntax checked only): which of them exist is known once
// the dashboard's definition has loaded (selectMetrics). No `metrics` means all of them.
import { ref, watch, type Ref } from "vue";
import { DASHBOARD_ID_RE, METRIC_NAME_RE } from "../../../contract/index.ts";

export const WINDOWS = [1, 5, 15] as const;
export type WindowMinutes = (typeof WINDOWS)[number];

interface UrlState {
  dashboard: string | null;
  window: WindowMinutes;
  /** Empty: every metric the dashboard defines. */
  metrics: string[];
}

function read(): UrlState {
  const q = new URLSearchParams(location.search);
  const dashboard = q.get("dashboard");
  const window = Number(q.get("window"));
  const metrics = (q.get("metrics") ?? "").split(",").filter((m) => METRIC_NAME_RE.test(m));
  return {
    dashboard: dashboard && DASHBOARD_ID_RE.test(dashboard) ? dashboard : null,
    window: (WINDOWS as readonly number[]).includes(window) ? (window as WindowMinutes) : 5,
    metrics: [...new Set(metrics)],
  };
}

function write(state: UrlState, push: boolean): void {
  const q = new URLSearchParams(location.search);
  if (state.dashboard) q.set("dashboard", state.dashboard);
  else q.delete("dashboard");
  if (state.window !== 5) q.set("window", String(state.window));
  else q.delete("window");
  if (state.metrics.length > 0) q.set("metrics", state.metrics.join(","));
  else q.delete("metrics");
  const next = `${location.pathname}?${q.toString().replaceAll("%2C", ",")}${location.hash}`;
  if (next === `${location.pathname}${location.search}${location.hash}`) return;
  if (push) history.pushState(null, "", next);
  else history.replaceState(null, "", next);
}

export function useUrlState(): {
  dashboard: Ref<string | null>;
  windowMinutes: Ref<WindowMinutes>;
  metrics: Ref<string[]>;
} {
  const initial = read();
  const dashboard = ref(initial.dashboard);
  const windowMinutes = ref<WindowMinutes>(initial.window);
  const metrics = ref<string[]>(initial.metrics);
  let fromPopState = false;

  // One watcher: a dashboard switch also resets the metrics, and the two must make one entry.
  watch([dashboard, windowMinutes, metrics], ([next], [previous]) => {
    if (fromPopState) return;
    write({ dashboard: dashboard.value, window: windowMinutes.value, metrics: metrics.value }, next !== previous && previous !== null && next !== null);
  });
  addEventListener("popstate", () => {
    const state = read();
    fromPopState = true;
    dashboard.value = state.dashboard;
    windowMinutes.value = state.window;
    metrics.value = state.metrics;
    // Watchers run before the next paint; clear the flag after them.
    queueMicrotask(() => setTimeout(() => (fromPopState = false)));
  });
  return { dashboard, windowMinutes, metrics };
}

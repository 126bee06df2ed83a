// The view's state in the address bar: ?dashboard=demo&window=5&metrics=cpu,memory. Switching
// dashboards adds a history entry (Back returns to the previous one); the rest replaces it.
import { ref, watch, type Ref } from "vue";
import { DASHBOARD_ID_RE, isMetricName, METRICS, type MetricName } from "../../../contract/index.ts";

export const WINDOWS = [1, 5, 15] as const;
export type WindowMinutes = (typeof WINDOWS)[number];

interface UrlState {
  dashboard: string | null;
  window: WindowMinutes;
  metrics: MetricName[];
}

function read(): UrlState {
  const q = new URLSearchParams(location.search);
  const dashboard = q.get("dashboard");
  const window = Number(q.get("window"));
  const metrics = (q.get("metrics") ?? "").split(",").filter(isMetricName);
  return {
    dashboard: dashboard && DASHBOARD_ID_RE.test(dashboard) ? dashboard : null,
    window: (WINDOWS as readonly number[]).includes(window) ? (window as WindowMinutes) : 5,
    metrics: metrics.length > 0 ? METRICS.filter((m) => metrics.includes(m)) : [...METRICS],
  };
}

function write(state: UrlState, push: boolean): void {
  const q = new URLSearchParams(location.search);
  if (state.dashboard) q.set("dashboard", state.dashboard);
  else q.delete("dashboard");
  if (state.window !== 5) q.set("window", String(state.window));
  else q.delete("window");
  if (state.metrics.length !== METRICS.length) q.set("metrics", state.metrics.join(","));
  else q.delete("metrics");
  const next = `${location.pathname}?${q.toString().replaceAll("%2C", ",")}${location.hash}`;
  if (next === `${location.pathname}${location.search}${location.hash}`) return;
  if (push) history.pushState(null, "", next);
  else history.replaceState(null, "", next);
}

export function useUrlState(): {
  dashboard: Ref<string | null>;
  windowMinutes: Ref<WindowMinutes>;
  metrics: Ref<MetricName[]>;
} {
  const initial = read();
  const dashboard = ref(initial.dashboard);
  const windowMinutes = ref<WindowMinutes>(initial.window);
  const metrics = ref<MetricName[]>(initial.metrics);
  let fromPopState = false;

  const current = (): UrlState => ({ dashboard: dashboard.value, window: windowMinutes.value, metrics: metrics.value });
  watch(dashboard, (next, previous) => {
    if (!fromPopState) write(current(), previous !== null && next !== null);
  });
  watch([windowMinutes, metrics], () => {
    if (!fromPopState) write(current(), false);
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

// Chart colours come from the same CSS custom properties as the page, so uPlot's canvas
// follows the system's light/dark choice; charts rebuild when it changes.
import { shallowRef } from "vue";
import { METRICS, type MetricName } from "../../../contract/index.ts";

export interface ChartTheme {
  text: string;
  muted: string;
  grid: string;
  warning: string;
  critical: string;
  metric: Record<MetricName, string>;
  font: string;
}

function read(): ChartTheme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return {
    text: v("--text"),
    muted: v("--muted"),
    grid: v("--grid"),
    warning: v("--warning"),
    critical: v("--critical"),
    metric: Object.fromEntries(METRICS.map((m) => [m, v(`--metric-${m}`)])) as Record<MetricName, string>,
    font: `11px ${v("--font-mono") || "monospace"}`,
  };
}

export const chartTheme = shallowRef<ChartTheme>(read());
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => (chartTheme.value = read()));

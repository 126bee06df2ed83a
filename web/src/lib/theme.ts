// Chart colours come from the same CSS custom properties as the page, so uPlot's canvas
// follows the system's light/dark choice; charts rebuild when it changes.
import { shallowRef } from "vue";
import { PALETTE_SIZE } from "./metrics.ts";

export interface ChartTheme {
  text: string;
  muted: string;
  grid: string;
  warning: string;
  critical: string;
  /** `--series-0…11`: a metric takes the slot of its position in the definition. */
  palette: string[];
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
    palette: Array.from({ length: PALETTE_SIZE }, (_, i) => v(`--series-${i}`)),
    font: `11px ${v("--font-mono") || "monospace"}`,
  };
}

export const chartTheme = shallowRef<ChartTheme>(read());
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => (chartTheme.value = read()));

/** The colour of the metric at `index` in its dashboard's definition. */
export const seriesColour = (index: number) => chartTheme.value.palette[index % PALETTE_SIZE]!;

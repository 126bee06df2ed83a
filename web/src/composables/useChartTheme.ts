// Chart colours come from the same CSS custom properties as the page, so uPlot's canvas
// follows the system's light/dark choice; charts rebuild when it changes.
import { getCurrentScope, onScopeDispose, shallowRef, type ShallowRef } from "vue";
import { PALETTE_SIZE } from "../lib/metrics.ts";

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

export interface UseChartThemeReturn {
  /** The colours now; a new object when the colour scheme flips, so a chart that reads it rebuilds. */
  theme: Readonly<ShallowRef<ChartTheme>>;
  /** The colour of the metric at `index` in its dashboard's definition. */
  seriesColour: (index: number) => string;
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

// Shared by every chart and card on the page: one read and one `change` listener, added by the
// first user and removed when the last one is disposed (VueUse's createSharedComposable).
const theme = shallowRef({} as ChartTheme);
const update = () => (theme.value = read());
let dark: MediaQueryList | undefined;
let users = 0;

export function useChartTheme(): UseChartThemeReturn {
  if (users++ === 0) {
    dark = matchMedia("(prefers-color-scheme: dark)");
    dark.addEventListener("change", update);
    update();
  }
  if (getCurrentScope()) onScopeDispose(() => void (--users === 0 && dark!.removeEventListener("change", update)));
  return { theme, seriesColour: (index) => theme.value.palette[index % PALETTE_SIZE]! };
}

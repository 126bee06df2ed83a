// Mounts a uPlot chart in a container that may resize, redraws when `redrawOn` moves, and
// rebuilds when its options change (theme, metric, window).
import type uPlot from "uplot";
import { onBeforeUnmount, onMounted, toValue, watch, type MaybeRefOrGetter } from "vue";

let library: Promise<typeof uPlot> | undefined;
/**
 * uPlot is a third of the page's JS (about 22 kB gzip): it comes as a chunk of its own, so the
 * first load (cards, values, feed) stays within the 60 kB budget. The page asks for it as soon as
 * it opens a dashboard (App.vue), beside the definition and the stream, not after them.
 */
export function loadPlotLibrary(): Promise<typeof uPlot> {
  return (library ??= import("uplot").then((m) => m.default));
}

export interface UsePlotOptions {
  /** The chart's options but its width (the container's); read in a watcher: a change rebuilds it. */
  options: () => Omit<uPlot.Options, "width">;
  /** The series, read on every build and redraw. */
  data: () => uPlot.AlignedData;
  /** What the chart redraws on (new data, a moving edge): a redraw, not a rebuild. */
  redrawOn: () => unknown;
  /** After each build and redraw. */
  onDraw?: (plot: uPlot) => void;
}

/** In a component's setup: the chart lives from its mount (and uPlot's arrival) to its unmount. */
export function usePlot(container: MaybeRefOrGetter<HTMLElement | null>, { options, data, redrawOn, onDraw }: UsePlotOptions): void {
  let UPlot: typeof uPlot | null = null;
  let plot: uPlot | null = null;
  let observer: ResizeObserver | null = null;
  let unmounted = false;

  function build(): void {
    plot?.destroy();
    plot = null;
    const el = toValue(container);
    if (!el || !UPlot) return;
    plot = new UPlot({ ...options(), width: Math.max(50, el.clientWidth) }, data(), el);
    onDraw?.(plot);
  }

  onMounted(async () => {
    UPlot = await loadPlotLibrary();
    if (unmounted) return;
    build();
    observer = new ResizeObserver(() => {
      const el = toValue(container);
      if (plot && el && el.clientWidth > 0 && Math.abs(plot.width - el.clientWidth) > 1) {
        plot.setSize({ width: el.clientWidth, height: plot.height });
      }
    });
    const el = toValue(container);
    if (el) observer.observe(el);
  });
  watch(options, build);
  watch(redrawOn, () => {
    if (!plot) return;
    plot.setData(data());
    onDraw?.(plot);
  });
  onBeforeUnmount(() => {
    unmounted = true;
    observer?.disconnect();
    plot?.destroy();
    plot = null;
  });
}

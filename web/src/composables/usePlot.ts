// Mounts a uPlot chart in a container that may resize, redraws when `redrawOn` moves, and
// rebuilds when its options change (theme, metric, window).
import uPlot from "uplot";
import { onBeforeUnmount, onMounted, toValue, watch, type MaybeRefOrGetter } from "vue";

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

/** In a component's setup: the chart lives from its mount to its unmount. */
export function usePlot(container: MaybeRefOrGetter<HTMLElement | null>, { options, data, redrawOn, onDraw }: UsePlotOptions): void {
  let plot: uPlot | null = null;
  let observer: ResizeObserver | null = null;

  function build(): void {
    plot?.destroy();
    const el = toValue(container);
    if (!el) return;
    plot = new uPlot({ ...options(), width: Math.max(50, el.clientWidth) }, data(), el);
    onDraw?.(plot);
  }

  onMounted(() => {
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
    observer?.disconnect();
    plot?.destroy();
    plot = null;
  });
}

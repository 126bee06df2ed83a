// Mounts a uPlot chart in a container that may resize, redraws when `frame` moves, and
// rebuilds when its options change (theme, metric, window).
import uPlot from "uplot";
import { onBeforeUnmount, onMounted, watch, type Ref } from "vue";

export function usePlot(
  container: Ref<HTMLElement | null>,
  options: () => Omit<uPlot.Options, "width">,
  data: () => uPlot.AlignedData,
  frame: () => unknown,
  onDraw?: (plot: uPlot) => void,
): void {
  let plot: uPlot | null = null;
  let observer: ResizeObserver | null = null;

  function build(): void {
    plot?.destroy();
    const el = container.value;
    if (!el) return;
    plot = new uPlot({ ...options(), width: Math.max(50, el.clientWidth) }, data(), el);
    onDraw?.(plot);
  }

  onMounted(() => {
    build();
    observer = new ResizeObserver(() => {
      const el = container.value;
      if (plot && el && el.clientWidth > 0 && Math.abs(plot.width - el.clientWidth) > 1) {
        plot.setSize({ width: el.clientWidth, height: plot.height });
      }
    });
    if (container.value) observer.observe(container.value);
  });
  watch(options, build);
  watch(frame, () => {
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

/** `#rrggbb` → `rgba(…, alpha)`, for fills under the line. */
export function withAlpha(hex: string, alpha: number): string {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  return `rgba(${parseInt(m[1]!, 16)}, ${parseInt(m[2]!, 16)}, ${parseInt(m[3]!, 16)}, ${alpha})`;
}

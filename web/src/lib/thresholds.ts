// The threshold lines both chart kinds draw (uPlot drawAxes hook), in the chart's theme. Apart
// from plot.ts because it needs a browser (devicePixelRatio): plot.ts's yRange is tested in Node.
import type uPlot from "uplot";
import type { MetricDef } from "../../../contract/index.ts";
import { badSide, formatTick } from "./metrics.ts";
import { withAlpha } from "./plot.ts";
import type { ChartTheme } from "../composables/useChartTheme.ts";

/** Warning and critical as dashed lines with a label, and the bad side of the first one tinted. */
export function drawThresholds(u: uPlot, def: MetricDef, theme: ChartTheme): void {
  const { ctx, bbox } = u;
  const dpr = devicePixelRatio;
  const below = def.direction === "below";
  const top = bbox.top;
  const bottom = bbox.top + bbox.height;
  const clampY = (value: number) => Math.min(bottom, Math.max(top, Math.round(u.valToPos(value, "y", true)) + 0.5));
  // The bad side of the first threshold crossed, faintly: which way is wrong, at a glance.
  const first = def.warning ?? def.critical;
  if (first !== undefined) {
    const y = clampY(first);
    ctx.save();
    ctx.fillStyle = withAlpha(def.warning !== undefined ? theme.warning : theme.critical, 0.07);
    ctx.fillRect(bbox.left, below ? y : top, bbox.width, below ? bottom - y : y - top);
    ctx.restore();
  }
  for (const [value, colour, name] of [
    [def.warning, theme.warning, "warn"],
    [def.critical, theme.critical, "crit"],
  ] as const) {
    if (value === undefined) continue;
    const y = Math.round(u.valToPos(value, "y", true)) + 0.5;
    if (y < top || y > bottom) continue;
    ctx.save();
    ctx.strokeStyle = colour;
    ctx.globalAlpha = 0.8;
    ctx.lineWidth = Math.max(1, dpr);
    ctx.setLineDash([4 * dpr, 4 * dpr]);
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
    // A small label at the left end, on the bad side of the line: "warn ≥ 80", "crit ≤ 20".
    ctx.setLineDash([]);
    ctx.fillStyle = colour;
    ctx.font = `${10 * dpr}px ${theme.font.replace(/^\S+\s/, "")}`;
    ctx.textAlign = "left";
    ctx.textBaseline = below ? "top" : "bottom";
    ctx.fillText(`${name} ${badSide(def)} ${formatTick(def, value)}`, bbox.left + 4 * dpr, below ? y + 2 * dpr : y - 2 * dpr);
    ctx.restore();
  }
}

// Which ingested series feeds which metric (OTLP, line protocol, Prometheus). Pure: the routes
// call it after decoding, before anything reaches the dashboard object.
//
// The rule:
// - A series is a name plus its attributes (OTLP: resource, scope and data-point attributes;
//   line protocol: `<measurement>_<field>` plus the tags; Prometheus: `__name__` plus the other
//   labels).
// - A point matches a metric when its name equals `source.name` (or, without `source.name`, the
//   metric's own name) and every `source.attributes` entry equals the point's attribute of that
//   key, compared as text. One point may feed several metrics.
// - If more than one distinct series matches a metric within one request, those points are
//   rejected (the answer names the metric and the series) unless the metric says how to combine
//   them with `source.aggregate` (sum, avg, min or max of the series' values at one time).
// - A split metric (`source.by`) keeps series apart by the value of that attribute: each value
//   is a series of the metric (the batch's `series`). A point without the attribute is refused;
//   several distinct series with the same value follow the rule above. How many series a metric
//   holds (`maxSeries`) is the dashboard object's to judge: it knows which are live.
// - Points outside the ingest window (`checkTime`) are rejected; points without a time get now.
// - Counters become per-second rates in the dashboard object. A series is a counter when its
//   metric says `source.rate = true`; with `source.rate = false` it never is; otherwise when
//   the protocol says so: OTLP monotonic sums, Prometheus series named `*_total` (the decoder
//   marks them as cumulative monotonic sums). Non-monotonic sums are shown as they are, like
//   gauges. A sum taken as a counter without temporality is rejected; other points are cumulative.
import type { DashboardDef, MetricDef } from "../../contract/index.ts";
import { checkSeriesName, checkTime } from "../../core/ingest/samples.ts";
import { Refusals, MAX_REASONS, type Refused } from "../../core/ingest/refusals.ts";
import type { SeriesBatch, SeriesKind } from "../../core/ingest/batches.ts";
import type { Attributes, Point } from "../protocols/points.ts";

export interface Mapped {
  batches: SeriesBatch[];
  /** Points that fed at least one metric. */
  accepted: number;
  /** Points refused by the rules above (time, ambiguity, temporality). */
  refused: Refused;
  /** Points whose series matched no metric, and those series' names (at most MAX_REASONS). */
  unmatched: { count: number; names: string[] };
}

export interface MapOptions {
  now: number;
  retentionSeconds: number;
  /** Per point: its line number (line protocol); absent → -1. */
  refs?: ArrayLike<number>;
}

/** Identity of a series: its name and its attributes sorted by key, as text. */
export function seriesKey(name: string, attributes: Attributes): string {
  const keys = Object.keys(attributes);
  if (keys.length === 0) return name;
  keys.sort();
  let out = name + "{";
  for (let i = 0; i < keys.length; i++) out += (i ? "," : "") + keys[i] + "=" + String(attributes[keys[i]!]);
  return out + "}";
}

function matches(def: MetricDef, attributes: Attributes): boolean {
  const want = def.source?.attributes;
  if (!want) return true;
  for (const k in want) {
    if (!Object.hasOwn(attributes, k) || String(attributes[k]) !== String(want[k])) return false;
  }
  return true;
}

export function mapPoints(dashboard: DashboardDef, points: readonly Point[], opts: MapOptions): Mapped {
  const byName = new Map<string, MetricDef[]>();
  for (const def of dashboard.metrics) {
    const name = def.source?.name ?? def.name;
    byName.set(name, [...(byName.get(name) ?? []), def]);
  }
  const refused = new Refusals();
  const unmatchedNames = new Set<string>();
  let unmatched = 0;
  const rejected = new Uint8Array(points.length); // refused for time or temporality
  /** metric → series key → batch */
  const perMetric = new Map<string, Map<string, SeriesBatch>>();
  const indexes = new Map<SeriesBatch, number[]>();
  let lastAttrs: Attributes | undefined;
  let lastName = "";
  let lastKey = "";
  const { now, retentionSeconds, refs } = opts;

  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const ref = refs ? refs[i]! : -1;
    const defs = byName.get(p.name);
    let hit = false;
    if (defs) {
      for (const def of defs) {
        if (!matches(def, p.attributes)) continue;
        hit = true;
        if (rejected[i]) break;
        const by = def.source?.by;
        let split: string | undefined;
        if (by !== undefined) {
          // Only this metric cannot take the point: another one may.
          const v = Object.hasOwn(p.attributes, by) ? p.attributes[by] : undefined;
          split = v === undefined ? undefined : String(v);
          const problem = split === undefined ? `has no attribute "${by}" to split by` : checkSeriesName(split);
          if (problem) {
            refused.note(`metric "${def.name}": ${seriesKey(p.name, p.attributes)} ${problem}`, ref);
            continue;
          }
        }
        let kind: SeriesKind = "gauge";
        if (def.source?.rate ?? (p.kind === "sum" && p.monotonic === true)) {
          if (p.kind === "sum" && !p.temporality) {
            rejected[i] = 1;
            refused.note(`"${p.name}": ${p.monotonic ? "monotonic " : ""}sum without aggregation temporality`, ref);
            break;
          }
          kind = p.temporality ?? "cumulative";
        }
        const timeMs = p.timeMs ?? now;
        const late = checkTime(timeMs, retentionSeconds, now);
        if (late) {
          rejected[i] = 1;
          refused.note(`"${p.name}": time ${timeMsText(timeMs)} ${late}`, ref);
          break;
        }
        if (p.attributes !== lastAttrs || p.name !== lastName) {
          lastAttrs = p.attributes;
          lastName = p.name;
          lastKey = seriesKey(p.name, p.attributes);
        }
        let series = perMetric.get(def.name);
        if (!series) perMetric.set(def.name, (series = new Map()));
        let batch = series.get(lastKey);
        if (!batch) {
          series.set(lastKey, (batch = { metric: def.name, key: lastKey, kind, timeMs: [], value: [], startMs: [], ref: [] }));
          if (split !== undefined) batch.series = split;
          indexes.set(batch, []);
        }
        indexes.get(batch)!.push(i);
        batch.timeMs.push(timeMs);
        batch.value.push(p.value);
        batch.startMs.push(p.startTimeMs ?? NaN);
        batch.ref.push(ref);
      }
    }
    if (!hit) {
      unmatched++;
      if (unmatchedNames.size < MAX_REASONS) unmatchedNames.add(p.name);
    }
  }

  // Several series for one metric: combined only when the definition says how.
  const batches: SeriesBatch[] = [];
  const used = new Uint8Array(points.length);
  const defsByName = new Map(dashboard.metrics.map((d) => [d.name, d]));
  for (const [metric, series] of perMetric) {
    const def = defsByName.get(metric)!;
    // A split metric's series are apart by their `by` value: the rule applies within each value.
    const groups = new Map<string | undefined, SeriesBatch[]>();
    for (const b of series.values()) groups.set(b.series, [...(groups.get(b.series) ?? []), b]);
    for (const [split, list] of groups) {
      if (list.length > 1 && !def.source?.aggregate) {
        const names =
          list
            .slice(0, 3)
            .map((b) => b.key)
            .join(", ") + (list.length > 3 ? `, … (${list.length} in all)` : "");
        const which = split === undefined ? "" : ` series "${split}"`;
        refused.note(
          `metric "${metric}"${which}: ${list.length} series match (${names}); pick one with source.attributes or combine them with source.aggregate`,
          list[0]!.ref[0]!,
        );
        continue;
      }
      for (const b of list) {
        batches.push(b);
        for (const i of indexes.get(b)!) used[i] = 1;
      }
    }
  }
  // A point counts once: accepted when it feeds at least one metric, refused when it matched
  // some metric but feeds none.
  let accepted = 0;
  for (let i = 0; i < points.length; i++) if (used[i]) accepted++;
  refused.count = points.length - unmatched - accepted;
  return { batches, accepted, refused: refused.result(), unmatched: { count: unmatched, names: [...unmatchedNames] } };
}

function timeMsText(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

// Points mapped onto a dashboard's metrics, as the Worker hands them to the dashboard's object:
// the Worker decodes and maps (worker/ingest/mapping.ts), the object turns counters into rates,
// combines series and publishes (durable-objects/ingest/point-samples.ts).

export type SeriesKind = "gauge" | "cumulative" | "delta";

/** The points of one series that feed one metric, in parallel arrays (cheap to send over RPC). */
export interface SeriesBatch {
  metric: string;
  /** Identity of the series (name + sorted attributes); counter state is kept under it. */
  key: string;
  /** For a split metric (`source.by`): the `by` attribute's value, the series of the metric it feeds. */
  series?: string;
  kind: SeriesKind;
  timeMs: number[];
  value: number[];
  /** OTLP start time (ms), NaN when absent. */
  startMs: number[];
  /** Where each point came from, for error messages (line-protocol line number; -1 for OTLP). */
  ref: number[];
}

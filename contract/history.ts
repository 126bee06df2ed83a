// Downsampled history: `GET /api/dashboards/:id/series` and its steps.

/**
 * Steps a series answer can come in, in ms. `1m` and `1h` are the stored tiers; the others are
 * whole multiples of one of them, merged at query time so `auto` can aim at ~300–1,500 points.
 */
export const SERIES_STEPS = {
  "1m": 60_000,
  "2m": 120_000,
  "5m": 300_000,
  "10m": 600_000,
  "15m": 900_000,
  "30m": 1_800_000,
  "1h": 3_600_000,
  "2h": 7_200_000,
  "3h": 10_800_000,
  "6h": 21_600_000,
  "12h": 43_200_000,
  "1d": 86_400_000,
} as const;
export type SeriesStep = keyof typeof SERIES_STEPS;

/** 1-hour buckets are kept this long; it is also the longest range one query may ask for. */
export const SERIES_MAX_DAYS = 90;

/** One metric's columns, aligned with `SeriesAnswer.t`; null where the bucket has no sample of it. */
export interface SeriesColumns {
  min: (number | null)[];
  max: (number | null)[];
  avg: (number | null)[];
  /** The value of the bucket's latest sample (by its timestamp). */
  last: (number | null)[];
}

/** A metric's columns; a split metric's (`source.by`) also has each of its series' columns, by series name. */
export type MetricColumns = SeriesColumns & { by?: Record<string, SeriesColumns> };

/**
 * `GET /api/dashboards/:id/series` → 200. Columnar: `t` holds bucket starts (epoch ms, ascending)
 * of the buckets where at least one requested metric has data; buckets with none are left out.
 * A split metric has `by`: the series seen in the range (at most its `maxSeries`, the worst
 * first), each with columns aligned with `t` like the metric's own.
 */
export interface SeriesAnswer {
  step: SeriesStep;
  t: number[];
  series: Record<string, MetricColumns>;
}

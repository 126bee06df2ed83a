// The ingest schema: what a real system may push into a dashboard.
import { z } from "zod";
import type { MetricSample } from "../contract/index.ts";

export const MAX_SAMPLES_PER_REQUEST = 100;
export const MAX_INGEST_BYTES = 64 * 1024;
/** A sample may be stamped at most this far ahead of the server's clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

const percent = z.number().min(0).max(100);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export function sampleSchema(retentionSeconds: number, now: number) {
  return z.strictObject({
    cpu: percent,
    memory: percent,
    rps: count,
    activeConnections: count,
    errorRate: percent,
    timestamp: z.iso
      .datetime({ offset: true })
      .refine((t) => Date.parse(t) <= now + MAX_CLOCK_SKEW_MS, "must not be more than 5 minutes in the future")
      .refine((t) => Date.parse(t) >= now - retentionSeconds * 1000, "must be within the retention period")
      .optional(),
  });
}

export type IngestSample = z.infer<ReturnType<typeof sampleSchema>>;

/** Rounds to the precision the wire contract promises and stamps samples without a time. */
export function normalizeSample(s: IngestSample, now: number): MetricSample {
  const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
  return {
    cpu: round(s.cpu, 1),
    memory: round(s.memory, 1),
    rps: s.rps,
    activeConnections: s.activeConnections,
    errorRate: round(s.errorRate, 2),
    timestamp: new Date(s.timestamp ? Date.parse(s.timestamp) : now).toISOString(),
  };
}

/** Validates one sample or an array of them; the error names the offending field. */
export function parseIngestBody(body: unknown, retentionSeconds: number, now: number): { samples: MetricSample[] } | { error: string } {
  const schema = sampleSchema(retentionSeconds, now);
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0) return { error: "the body is an empty array; send one sample or up to 100" };
  if (list.length > MAX_SAMPLES_PER_REQUEST) {
    return { error: `${list.length} samples in one request; send at most ${MAX_SAMPLES_PER_REQUEST}` };
  }
  const samples: MetricSample[] = [];
  for (const [i, item] of list.entries()) {
    const result = schema.safeParse(item);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const field = issue.path.length ? issue.path.join(".") : "sample";
      const where = Array.isArray(body) ? `[${i}].${field}` : field;
      return { error: `${where}: ${issue.message}` };
    }
    samples.push(normalizeSample(result.data, now));
  }
  return { samples };
}

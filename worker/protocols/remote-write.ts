// Prometheus remote write 1.0 (https://prometheus.io/docs/specs/prw/remote_write_spec/): a
// snappy block holding a protobuf WriteRequest, into neutral points. Decoding is
// @bufbuild/protobuf with code generated from proto/prometheus/remote.proto (`npm run
// gen:proto`); this module checks the request's headers and walks the decoded series.
import { fromBinary } from "@bufbuild/protobuf";
import { WriteRequestSchema } from "./gen/prometheus/remote_pb.ts";
import { ProtocolError, setOwn, type Attributes, type Point } from "./points.ts";
import { snappyUncompress } from "./snappy.ts";

/** What a remote write 1.0 sender sets; the 2.0 type is `io.prometheus.write.v2.Request`. */
const V1_PROTO = "prometheus.WriteRequest";

/**
 * Null when Content-Type and Content-Encoding are remote write 1.0's, else what to tell the sender
 * (answer 415): `application/x-protobuf` (optionally `;proto=prometheus.WriteRequest`) and `snappy`.
 */
export function remoteWriteMediaProblem(contentType: string | null | undefined, contentEncoding: string | null | undefined): string | null {
  const [type = "", ...params] = (contentType ?? "").split(";").map((p) => p.trim());
  const proto = params.find((p) => p.toLowerCase().startsWith("proto="))?.slice("proto=".length);
  if (type.toLowerCase() !== "application/x-protobuf" || (proto !== undefined && proto !== V1_PROTO)) {
    const sent = (contentType ?? "").slice(0, 100) || "none";
    return (
      `Content-Type ${sent} is not taken here: send remote write 1.0, Content-Type: application/x-protobuf ` +
      "(remote write 2.0 is not supported: set protobuf_message: prometheus.WriteRequest)"
    );
  }
  const encoding = (contentEncoding ?? "").trim().toLowerCase();
  if (encoding !== "snappy") return `Content-Encoding ${encoding.slice(0, 40) || "none"} is not taken here: send Content-Encoding: snappy`;
  return null;
}

export interface RemoteWriteResult {
  points: Point[];
  /** Samples whose value is NaN: Prometheus's stale markers (0x7ff0000000000002) and other NaNs. */
  skipped: number;
  /** Every sample in the request, NaN or not. */
  samples: number;
}

/** A counter by Prometheus's naming convention, unless the metric's `source.rate` says otherwise. */
const COUNTER: Pick<Point, "kind" | "monotonic" | "temporality"> = { kind: "sum", monotonic: true, temporality: "cumulative" };

/**
 * Decompresses (at most `maxBytes`) and decodes a WriteRequest. Each sample becomes a point named
 * by the series' `__name__`, with the other labels as attributes (shared by the series' points,
 * read-only) and the sample's timestamp (ms). Series named `*_total` are marked as cumulative
 * counters. NaN samples are skipped and counted; ±Infinity is passed on (a metric refuses it).
 * Exemplars and metadata are ignored, native histograms (field 4) skipped unread.
 * Throws TooLarge past `maxBytes`, ProtocolError for a bad block or message, or a series without
 * `__name__`.
 */
export function decodeRemoteWrite(block: Uint8Array, maxBytes: number): RemoteWriteResult {
  const bytes = snappyUncompress(block, maxBytes);
  let request;
  try {
    request = fromBinary(WriteRequestSchema, bytes, { readUnknownFields: false });
  } catch (e) {
    throw new ProtocolError(`invalid remote write protobuf: ${e instanceof Error ? e.message : String(e)}`);
  }
  const points: Point[] = [];
  let skipped = 0;
  let samples = 0;
  for (const series of request.timeseries) {
    samples += series.samples.length;
    if (series.samples.length === 0) continue;
    let name: string | undefined;
    const attributes: Attributes = {};
    for (const label of series.labels) {
      if (label.name === "__name__") name = label.value;
      else setOwn<Attributes[string]>(attributes, label.name, label.value);
    }
    if (!name) throw new ProtocolError(`a series without a __name__ label: ${describe(attributes)}`);
    const counter = name.endsWith("_total");
    for (const sample of series.samples) {
      const value = sample.value;
      if (Number.isNaN(value)) {
        skipped++;
        continue;
      }
      const timeMs = Number(sample.timestamp);
      points.push(counter ? { name, attributes, timeMs, value, ...COUNTER } : { name, attributes, timeMs, value, kind: "gauge" });
    }
  }
  return { points, skipped, samples };
}

function describe(attributes: Attributes): string {
  const text = `{${Object.entries(attributes)
    .map(([k, v]) => `${k}="${String(v)}"`)
    .join(", ")}}`;
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

// Hand-built Prometheus remote write requests for the workerd tests: WriteRequest bytes written
// field by field (so a stale marker keeps its exact NaN bits), snappy-compressed by snappyjs.
import { SELF } from "cloudflare:test";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { compress } from "snappyjs";

export const TOKEN = "test-ingest-token-0123456789";
export const PROTOBUF = "application/x-protobuf";

/** Prometheus's stale marker: a NaN with these bits (model/value.StaleNaN). */
export const STALE_BITS = 0x7ff0000000000002n;
export const STALE = Symbol("stale");

export interface Series {
  /** Labels in the order they are written; `__name__` among them (or not, to test that). */
  labels: [string, string][];
  samples: [value: number | typeof STALE, timeMs: number][];
}

/** A series `name{labels}` (labels written sorted by name, __name__ first, as Prometheus does). */
export function series(name: string, labels: Record<string, string>, samples: Series["samples"]): Series {
  const sorted = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1));
  return { labels: [["__name__", name], ...sorted], samples };
}

/** WriteRequest bytes: field 1 TimeSeries (1 Label, 2 Sample), field 3 MetricMetadata. */
export function writeRequest(list: Series[], metadata: { name: string; type: number; help: string }[] = []): Uint8Array {
  const w = new BinaryWriter();
  for (const s of list) {
    w.tag(1, WireType.LengthDelimited).fork();
    for (const [name, value] of s.labels)
      w.tag(1, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.LengthDelimited)
        .string(name)
        .tag(2, WireType.LengthDelimited)
        .string(value)
        .join();
    for (const [value, timeMs] of s.samples) {
      w.tag(2, WireType.LengthDelimited).fork();
      if (value === STALE) w.tag(1, WireType.Bit64).fixed64(STALE_BITS);
      else w.tag(1, WireType.Bit64).double(value);
      w.tag(2, WireType.Varint).int64(timeMs).join();
    }
    w.join();
  }
  for (const m of metadata) {
    w.tag(3, WireType.LengthDelimited).fork();
    w.tag(1, WireType.Varint).int32(m.type).tag(2, WireType.LengthDelimited).string(m.name).tag(4, WireType.LengthDelimited).string(m.help);
    w.join();
  }
  return w.finish();
}

export function snappy(bytes: Uint8Array): Uint8Array {
  return compress(bytes);
}

export function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/**
 * A snappy block whose header states `stated` bytes: one literal zero byte, then 64-byte copies
 * of it up to `inflated` bytes (3 bytes each: snappy's best ratio, ~21:1), then `tail`.
 */
export function bomb(stated: number, inflated: number, tail: number[] = []): Uint8Array {
  const copies = Math.floor((inflated - 1) / 64);
  const head = [...varint(stated), 0x00, 0x00];
  const out = new Uint8Array(head.length + copies * 3 + tail.length);
  out.set(head);
  for (let i = 0, at = head.length; i < copies; i++, at += 3) {
    out[at] = 0xfe; // copy with a 2-byte offset, length 64
    out[at + 1] = 1; // offset 1: repeat the previous byte
    out[at + 2] = 0;
  }
  out.set(tail, head.length + copies * 3);
  return out;
}

/** POSTs a body to a dashboard's remote write route, as Prometheus does unless told otherwise. */
export function remoteWrite(dashboard: string, body: BodyInit | null, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(`https://dash.test/api/dashboards/${dashboard}/prometheus/api/v1/write`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${TOKEN}`,
      "Content-Type": PROTOBUF,
      "Content-Encoding": "snappy",
      "X-Prometheus-Remote-Write-Version": "0.1.0",
      ...headers,
    },
    body,
  });
}

/** Snappy-compressed WriteRequest of `list`, sent. */
export function send(dashboard: string, ...list: Series[]): Promise<Response> {
  return remoteWrite(dashboard, snappy(writeRequest(list)));
}

/** A whole second some seconds ago, so samples have distinct, predictable times. */
export const at = (secondsAgo: number) => Math.floor(Date.now() / 1000) * 1000 - secondsAgo * 1000;

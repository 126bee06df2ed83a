// The remote write decoder on its own: a WriteRequest encoded by the generated code (as any
// protobuf library would) comes out as points, and the media types it takes.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { compress } from "snappyjs";
import { describe, expect, it } from "vitest";
import { WriteRequestSchema } from "../../../worker/protocols/gen/prometheus/remote_pb.ts";
import { decodeRemoteWrite, remoteWriteMediaProblem } from "../../../worker/protocols/remote-write.ts";
import { series, STALE, STALE_BITS, writeRequest } from "../remote-write-requests.ts";

describe("decodeRemoteWrite", () => {
  it("labels become attributes, __name__ the name, *_total a cumulative counter; NaNs are skipped and counted", () => {
    const request = create(WriteRequestSchema, {
      timeseries: [
        {
          labels: [
            { name: "__name__", value: "node_network_receive_bytes_total" },
            { name: "device", value: "eth0" },
            { name: "instance", value: "h:9100" },
            { name: "job", value: "node" },
          ],
          samples: [
            { value: 1024, timestamp: 1_700_000_000_000n },
            { value: NaN, timestamp: 1_700_000_001_000n },
            { value: 2048, timestamp: 1_700_000_002_000n },
          ],
          exemplars: [{ labels: [{ name: "trace_id", value: "abc" }], value: 1, timestamp: 1n }],
        },
        { labels: [{ name: "__name__", value: "node_load1" }], samples: [{ value: 0.25, timestamp: 1_700_000_000_000n }] },
      ],
      metadata: [{ type: 1, metricFamilyName: "node_network_receive_bytes_total", help: "Bytes received." }],
    });
    const decoded = decodeRemoteWrite(compress(toBinary(WriteRequestSchema, request)), 1 << 20);
    expect(decoded.samples).toBe(4);
    expect(decoded.skipped).toBe(1);
    const attributes = { device: "eth0", instance: "h:9100", job: "node" };
    const counter = { kind: "sum", monotonic: true, temporality: "cumulative" };
    expect(decoded.points).toEqual([
      { name: "node_network_receive_bytes_total", attributes, timeMs: 1_700_000_000_000, value: 1024, ...counter },
      { name: "node_network_receive_bytes_total", attributes, timeMs: 1_700_000_002_000, value: 2048, ...counter },
      { name: "node_load1", attributes: {}, timeMs: 1_700_000_000_000, value: 0.25, kind: "gauge" },
    ]);
  });

  it("the tests' hand-built requests are what the generated code reads, stale markers bit for bit", () => {
    const bytes = writeRequest([series("up", { job: "a" }, [[STALE, 5]])]);
    const request = fromBinary(WriteRequestSchema, bytes);
    expect(request.timeseries[0]!.labels.map((l) => [l.name, l.value])).toEqual([
      ["__name__", "up"],
      ["job", "a"],
    ]);
    const value = request.timeseries[0]!.samples[0]!.value;
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, true);
    expect(view.getBigUint64(0, true)).toBe(STALE_BITS);
    expect(decodeRemoteWrite(compress(bytes), 1 << 20)).toEqual({ points: [], skipped: 1, samples: 1 });
  });

  it("takes remote write 1.0's media type and encoding only", () => {
    expect(remoteWriteMediaProblem("application/x-protobuf", "snappy")).toBeNull();
    expect(remoteWriteMediaProblem("Application/X-Protobuf; proto=prometheus.WriteRequest", " Snappy")).toBeNull();
    expect(remoteWriteMediaProblem("application/x-protobuf;proto=io.prometheus.write.v2.Request", "snappy")).toContain(
      "remote write 2.0 is not supported",
    );
    expect(remoteWriteMediaProblem(undefined, "snappy")).toContain("Content-Type none is not taken here");
    expect(remoteWriteMediaProblem("application/x-protobuf", "gzip")).toBe(
      "Content-Encoding gzip is not taken here: send Content-Encoding: snappy",
    );
  });
});

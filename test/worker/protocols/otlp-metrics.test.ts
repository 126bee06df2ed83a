// OTLP metrics: bytes from the real OpenTelemetry JS SDK + OTLP serializers (both encodings),
// plus hand-built requests (protobuf-es encoder, JSON literals) for what the SDK never sends.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { ValueType } from "@opentelemetry/api";
import { AggregationType } from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import {
  ExportMetricsServiceRequestSchema,
  ExportMetricsServiceResponseSchema,
} from "../../../worker/protocols/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.ts";
import { decodeOtlpMetrics, otlpEncoding, otlpResponse } from "../../../worker/protocols/otlp.ts";
import { ProtocolError } from "../../../worker/protocols/points.ts";
import { sdkMetrics } from "./producers.ts";

type Init = MessageInitShape<typeof ExportMetricsServiceRequestSchema>;
const pb = (init: Init) => toBinary(ExportMetricsServiceRequestSchema, create(ExportMetricsServiceRequestSchema, init));
/** A protobuf request with one gauge "g" (protobuf-es init shapes: oneofs as {case, value}). */
const pbGauge = (dataPoints: Record<string, unknown>[]) =>
  pb({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: "g", data: { case: "gauge", value: { dataPoints } } }] }] }] } as Init);
const gaugeRequest = (dataPoints: object[], resourceAttrs: object[] = []) => ({
  resourceMetrics: [{ resource: { attributes: resourceAttrs }, scopeMetrics: [{ metrics: [{ name: "g", gauge: { dataPoints } }] }] }],
});
const json = (o: unknown) => JSON.stringify(o);
const invalid = (f: () => unknown, message: RegExp) => {
  expect(f).toThrow(ProtocolError);
  expect(f).toThrow(message);
};

describe("OTLP metrics from the OpenTelemetry JS SDK", () => {
  it("decodes counters, up-down counters and gauges the same from protobuf and JSON", async () => {
    const before = Date.now();
    const enc = await sdkMetrics(
      (m) => {
        m.createCounter("http.requests", { unit: "{request}" }).add(3, { route: "/a", ok: true });
        m.createCounter("http.requests").add(2, { route: "/b" });
        m.createUpDownCounter("queue.depth", { valueType: ValueType.INT }).add(-4);
        m.createGauge("cpu.utilization", { unit: "1" }).record(0.25, { core: 1, "service.name": "override" });
      },
      { resource: { "service.name": "checkout", "host.name": "h1" } },
    );
    for (const encoding of ["protobuf", "json"] as const) {
      const { points, rejected } = decodeOtlpMetrics(enc[encoding], encoding);
      expect(rejected).toEqual({ count: 0, reasons: [] });
      const byKey = Object.fromEntries(points.map((p) => [`${p.name}${JSON.stringify(p.attributes)}`, p]));
      expect(Object.keys(byKey).sort()).toEqual([
        'cpu.utilization{"service.name":"override","host.name":"h1","core":1}',
        'http.requests{"service.name":"checkout","host.name":"h1","route":"/a","ok":true}',
        'http.requests{"service.name":"checkout","host.name":"h1","route":"/b"}',
        'queue.depth{"service.name":"checkout","host.name":"h1"}',
      ]);
      const reqs = byKey['http.requests{"service.name":"checkout","host.name":"h1","route":"/a","ok":true}']!;
      expect(reqs).toMatchObject({ kind: "sum", monotonic: true, temporality: "cumulative", value: 3, unit: "{request}" });
      expect(reqs.timeMs).toBeGreaterThanOrEqual(before - 1);
      expect(reqs.timeMs).toBeLessThanOrEqual(Date.now() + 1);
      expect(reqs.startTimeMs).toBeLessThanOrEqual(reqs.timeMs!);
      expect(byKey['queue.depth{"service.name":"checkout","host.name":"h1"}']).toMatchObject({ kind: "sum", monotonic: false, value: -4 });
      const cpu = points.find((p) => p.name === "cpu.utilization")!;
      expect(cpu).toMatchObject({ kind: "gauge", value: 0.25, unit: "1" });
      expect(cpu.monotonic).toBeUndefined();
      expect(cpu.temporality).toBeUndefined();
    }
  });

  it("reports delta temporality", async () => {
    const enc = await sdkMetrics((m) => m.createCounter("c").add(1), { delta: true });
    expect(decodeOtlpMetrics(enc.protobuf, "protobuf").points[0]).toMatchObject({ temporality: "delta", monotonic: true });
    expect(decodeOtlpMetrics(enc.json, "json").points[0]).toMatchObject({ temporality: "delta" });
  });

  it("counts histograms and exponential histograms as rejected, by name", async () => {
    const enc = await sdkMetrics(
      (m) => {
        m.createHistogram("latency").record(12, { route: "/a" });
        m.createHistogram("latency").record(5, { route: "/b" });
        m.createHistogram("size").record(100);
        m.createGauge("ok").record(1);
      },
      { views: [{ instrumentName: "size", aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }] },
    );
    for (const encoding of ["protobuf", "json"] as const) {
      const r = decodeOtlpMetrics(enc[encoding], encoding);
      expect(r.points.map((p) => p.name)).toEqual(["ok"]);
      expect(r.rejected.count).toBe(3);
      expect(r.rejected.reasons.sort()).toEqual(['exponential histogram "size" (not supported)', 'histogram "latency" (not supported)']);
    }
  });

  it("flattens array attributes to JSON text", async () => {
    const enc = await sdkMetrics((m) => m.createGauge("g").record(1, { tags: ["a", "b"], n: [1, 2] }));
    expect(decodeOtlpMetrics(enc.protobuf, "protobuf").points[0]!.attributes).toMatchObject({ tags: '["a","b"]', n: "[1,2]" });
  });
});

describe("OTLP metrics edge cases", () => {
  it("reads asInt as number or decimal string, beyond 2^53 without throwing", () => {
    const r = decodeOtlpMetrics(
      json(gaugeRequest([{ asInt: "42" }, { asInt: 7 }, { asInt: "9223372036854775807" }, { asInt: "-9007199254740993" }])),
      "json",
    );
    // eslint-disable-next-line no-loss-of-precision -- int64 extremes become the nearest double
    expect(r.points.map((p) => p.value)).toEqual([42, 7, 9223372036854775807, -9007199254740992]);
    const p = decodeOtlpMetrics(pbGauge([{ value: { case: "asInt", value: -(2n ** 63n) } }]), "protobuf");
    expect(p.points[0]!.value).toBe(-9223372036854775808);
  });

  it("treats a 0 or absent time as not given, and reads times as strings or numbers", () => {
    const r = decodeOtlpMetrics(
      json(
        gaugeRequest([
          { asDouble: 1 },
          { asDouble: 2, timeUnixNano: "0", startTimeUnixNano: 0 },
          { asDouble: 3, timeUnixNano: "1700000000123456789" },
          { asDouble: 4, timeUnixNano: 1700000000123000000 },
          { asDouble: 5, timeUnixNano: "18446744073709551615" },
          { asDouble: 6, timeUnixNano: "1" },
        ]),
      ),
      "json",
    );
    expect(r.points.map((p) => p.timeMs)).toEqual([undefined, undefined, 1700000000123, 1700000000123, 18446744073709, 0]);
    expect(r.points.every((p) => p.startTimeMs === undefined)).toBe(true);
  });

  it("rejects NaN and NO_RECORDED_VALUE points, but not the request", () => {
    const enc = pbGauge([
      { value: { case: "asDouble", value: NaN } },
      { value: { case: "asDouble", value: 1 }, flags: 1 },
      { value: { case: "asDouble", value: 2 }, flags: 2 },
      {},
    ]);
    const r = decodeOtlpMetrics(enc, "protobuf");
    expect(r.points.map((p) => p.value)).toEqual([2]);
    expect(r.rejected.count).toBe(3);
    expect(r.rejected.reasons).toEqual(['"g": NaN value', '"g": no recorded value', '"g": data point without a value']);
    // proto3 JSON spells NaN as a string
    expect(decodeOtlpMetrics(json(gaugeRequest([{ asDouble: "NaN" }])), "json").rejected.count).toBe(1);
  });

  it("refuses infinite values, garbage types and timestamps with ProtocolError", () => {
    invalid(() => decodeOtlpMetrics(pbGauge([{ value: { case: "asDouble", value: Infinity } }]), "protobuf"), /not finite/);
    invalid(() => decodeOtlpMetrics(json(gaugeRequest([{ asDouble: "-Infinity" }])), "json"), /not finite/);
    invalid(
      () =>
        decodeOtlpMetrics(
          '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"asDouble":1e999}]}}]}]}]}',
          "json",
        ),
      /infinite/,
    );
    invalid(() => decodeOtlpMetrics(json(gaugeRequest([{ asDouble: "abc" }])), "json"), /invalid OTLP JSON/);
    invalid(() => decodeOtlpMetrics(json(gaugeRequest([{ asInt: 1.5 }])), "json"), /invalid OTLP JSON/);
    invalid(() => decodeOtlpMetrics(json(gaugeRequest([{ asInt: "99999999999999999999" }])), "json"), /invalid OTLP JSON/);
    invalid(
      () => decodeOtlpMetrics(json(gaugeRequest([{ asDouble: 1, timeUnixNano: "yesterday" }])), "json"),
      /time_unix_nano|timeUnixNano/,
    );
    invalid(() => decodeOtlpMetrics(json(gaugeRequest([{ asDouble: 1, timeUnixNano: "-1" }])), "json"), /invalid OTLP JSON/);
    invalid(
      () => decodeOtlpMetrics(json(gaugeRequest([{ asDouble: 1, timeUnixNano: "18446744073709551616" }])), "json"),
      /invalid OTLP JSON/,
    );
    invalid(() => decodeOtlpMetrics(json({ resourceMetrics: {} }), "json"), /invalid OTLP JSON/);
    invalid(() => decodeOtlpMetrics("[]", "json"), /invalid OTLP JSON/);
    invalid(() => decodeOtlpMetrics("{", "json"), /invalid OTLP JSON/);
    invalid(() => decodeOtlpMetrics(new Uint8Array([0xff, 0xfe, 0x7b]), "json"), /invalid OTLP JSON/);
    invalid(() => decodeOtlpMetrics(new Uint8Array([0x0a, 0x05, 0x01]), "protobuf"), /invalid OTLP protobuf/);
    invalid(
      () => decodeOtlpMetrics(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), "protobuf"),
      /invalid OTLP protobuf/,
    );
  });

  it("accepts empty requests, unknown fields, enum names and snake_case keys", () => {
    expect(decodeOtlpMetrics(new Uint8Array(0), "protobuf")).toEqual({ points: [], rejected: { count: 0, reasons: [] } });
    expect(decodeOtlpMetrics("{}", "json").points).toEqual([]);
    const r = decodeOtlpMetrics(
      json({
        futureField: { x: 1 },
        resource_metrics: [
          {
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: "s",
                    newKind: 1,
                    sum: {
                      aggregationTemporality: "AGGREGATION_TEMPORALITY_DELTA",
                      is_monotonic: true,
                      dataPoints: [{ as_double: 1.5, time_unix_nano: "2000000" }],
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
      "json",
    );
    expect(r.points).toEqual([{ name: "s", kind: "sum", monotonic: true, temporality: "delta", attributes: {}, timeMs: 2, value: 1.5 }]);
  });

  it("merges resource, scope and point attributes (the point wins) and flattens values", () => {
    const kv = (key: string, value: object) => ({ key, value });
    const r = decodeOtlpMetrics(
      json({
        resourceMetrics: [
          {
            resource: { attributes: [kv("service.name", { stringValue: "svc" }), kv("region", { stringValue: "eu" }), kv("empty", {})] },
            scopeMetrics: [
              {
                scope: { name: "lib", attributes: [kv("region", { stringValue: "scope" }), kv("lib.flag", { boolValue: true })] },
                metrics: [
                  {
                    name: "g",
                    gauge: {
                      dataPoints: [
                        {
                          asDouble: 1,
                          attributes: [
                            kv("region", { stringValue: "us" }),
                            kv("big", { intValue: "9007199254740993" }),
                            kv("small", { intValue: 5 }),
                            kv("ratio", { doubleValue: 0.5 }),
                            kv("raw", { bytesValue: "AQI=" }),
                            kv("list", {
                              arrayValue: {
                                values: [
                                  { stringValue: "a" },
                                  { intValue: "1" },
                                  { kvlistValue: { values: [kv("k", { boolValue: false })] } },
                                ],
                              },
                            }),
                            kv("map", {
                              kvlistValue: {
                                values: [kv("__proto__", { arrayValue: { values: [] } }), kv("x", { doubleValue: "Infinity" })],
                              },
                            }),
                          ],
                        },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
      "json",
    );
    expect(r.points[0]!.attributes).toEqual({
      "service.name": "svc",
      region: "us",
      "lib.flag": true,
      big: "9007199254740993",
      small: 5,
      ratio: 0.5,
      raw: "AQI=",
      list: '["a",1,{"k":false}]',
      map: '{"__proto__":[],"x":"Infinity"}',
    });
  });

  it("counts summaries and metrics without data or name as rejected", () => {
    const r = decodeOtlpMetrics(
      json({
        resourceMetrics: [
          {
            scopeMetrics: [
              {
                metrics: [
                  { name: "q", summary: { dataPoints: [{ sum: 1 }, { sum: 2 }] } },
                  { name: "nothing" },
                  { name: "", gauge: { dataPoints: [{ asDouble: 1 }] } },
                ],
              },
            ],
          },
        ],
      }),
      "json",
    );
    expect(r.points).toEqual([]);
    expect(r.rejected).toEqual({
      count: 4,
      reasons: ['summary "q" (not supported)', 'metric "nothing" without data', "metric without a name"],
    });
  });

  it("keeps at most 20 distinct reasons but counts every rejected point", () => {
    const metrics = Array.from({ length: 50 }, (_, i) => ({ name: `h${i}`, histogram: { dataPoints: [{}, {}] } }));
    const r = decodeOtlpMetrics(json({ resourceMetrics: [{ scopeMetrics: [{ metrics }] }] }), "json");
    expect(r.rejected.count).toBe(100);
    expect(r.rejected.reasons).toHaveLength(20);
  });
});

describe("OTLP content types and responses", () => {
  it("maps Content-Type to an encoding", () => {
    expect(otlpEncoding("application/x-protobuf")).toBe("protobuf");
    expect(otlpEncoding("Application/JSON; charset=utf-8")).toBe("json");
    expect(otlpEncoding("text/plain")).toBeUndefined();
    expect(otlpEncoding(null)).toBeUndefined();
  });

  it("encodes full and partial success in the request's encoding", () => {
    expect(otlpResponse("metrics", "json", { count: 0, reasons: [] })).toBe("{}");
    expect(JSON.parse(otlpResponse("metrics", "json", { count: 2, reasons: ["a", "b"] }) as string)).toEqual({
      partialSuccess: { rejectedDataPoints: "2", errorMessage: "a; b" },
    });
    expect(JSON.parse(otlpResponse("logs", "json", { count: 1, reasons: ["x"] }) as string)).toEqual({
      partialSuccess: { rejectedLogRecords: "1", errorMessage: "x" },
    });
    expect((otlpResponse("metrics", "protobuf", { count: 0, reasons: [] }) as Uint8Array).byteLength).toBe(0);
    const res = fromBinary(
      ExportMetricsServiceResponseSchema,
      otlpResponse("metrics", "protobuf", { count: 3, reasons: ['histogram "h"'] }) as Uint8Array,
    );
    expect(res.partialSuccess).toMatchObject({ rejectedDataPoints: 3n, errorMessage: 'histogram "h"' });
  });
});

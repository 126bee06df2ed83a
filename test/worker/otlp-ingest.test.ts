// OTLP/HTTP ingest through the Worker's routes: real SDK bytes and hand-built requests, read back
// from the SSE stream. Dashboards o1–o13 (test/setup/dashboards.ts) are this file's and
// influx-ingest.test.ts's.
import { fromBinary } from "@bufbuild/protobuf";
import { runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../durable-objects/dashboard/rate-limit.ts";
import { ExportLogsServiceResponseSchema } from "../../worker/protocols/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts";
import { ExportMetricsServiceResponseSchema } from "../../worker/protocols/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.ts";
import { committed, getJson, openStream, restart, stub } from "./helpers.ts";
import { counter, dp, gauge, request } from "./otlp-requests.ts";
import { sdkLogs, sdkMetrics } from "./protocols/producers.ts";

const TOKEN = "test-ingest-token-0123456789";
const JSON_TYPE = "application/json";
const PB = "application/x-protobuf";

function post(path: string, body: BodyInit, type: string, headers: Record<string, string> = {}) {
  return SELF.fetch(`https://dash.test${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": type, ...headers },
    body,
  });
}
const metrics = (dashboard: string, body: BodyInit, type = JSON_TYPE, headers: Record<string, string> = {}) =>
  post(`/api/dashboards/${dashboard}/otlp/v1/metrics`, body, type, headers);

/** A whole second some seconds ago, so samples have distinct, predictable times. */
const at = (secondsAgo: number) => Math.floor(Date.now() / 1000) * 1000 - secondsAgo * 1000;

const dataOf = (events: { event?: string; data: string }[], name = "metric-update") =>
  events.filter((e) => e.event === name).map((e) => JSON.parse(e.data));

describe("OTLP metrics: POST /api/dashboards/:id/otlp/v1/metrics", () => {
  it("SDK gauges over JSON: mapped by source (attributes, scale, avg), rounded, alerting; one sample per time", async () => {
    const stream = await openStream("/api/dashboards/o1/events?history=0");
    const enc = await sdkMetrics((m) => {
      const cpu = m.createGauge("system.cpu.utilization");
      // Per logical CPU and state, as host-metrics reports it: avg of the "user" ones × 100.
      cpu.record(0.9, { "system.cpu.logical_number": 0, "system.cpu.state": "user" });
      cpu.record(0.951, { "system.cpu.logical_number": 1, "system.cpu.state": "user" });
      cpu.record(0.05, { "system.cpu.logical_number": 0, "system.cpu.state": "idle" });
      m.createGauge("queue_depth").record(612.4);
      m.createGauge("unrelated.gauge").record(1);
    });
    const response = await metrics("o1", enc.json);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(JSON_TYPE);
    expect(await response.json()).toEqual({
      // The idle CPU matches no metric (cpu filters on state "user"), nor does the unrelated gauge.
      partialSuccess: {
        rejectedDataPoints: "2",
        errorMessage: '2 points matched no metric of dashboard "o1": system.cpu.utilization, unrelated.gauge',
      },
    });
    const events = await stream.waitFor(3);
    const [update] = dataOf(events);
    expect(Object.keys(update)).toEqual(["cpu", "queue_depth", "timestamp"]);
    expect(update).toMatchObject({ cpu: 92.6, queue_depth: 612 });
    expect(dataOf(events, "alert").map((a) => [a.metric, a.level])).toEqual([
      ["cpu", "critical"],
      ["queue_depth", "critical"],
    ]);
    await stream.close();
  });

  it("SDK bytes over protobuf with gzip: 200 with an empty ExportMetricsServiceResponse", async () => {
    const stream = await openStream("/api/dashboards/o2/events?history=0");
    const enc = await sdkMetrics((m) => m.createGauge("queue_depth").record(7));
    const gz = new Response(new Blob([enc.protobuf]).stream().pipeThrough(new CompressionStream("gzip")));
    const response = await metrics("o2", await gz.arrayBuffer(), PB, { "Content-Encoding": "gzip" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(PB);
    const body = fromBinary(ExportMetricsServiceResponseSchema, new Uint8Array(await response.arrayBuffer()));
    expect(body.partialSuccess).toBeUndefined();
    const [event] = await stream.waitFor(1);
    expect(JSON.parse(event!.data)).toMatchObject({ queue_depth: 7 });
    await stream.close();
  });

  it("monotonic sums become per-second rates; a reset is a new baseline, never a negative rate; delta uses its start time; the series continues across a restart", async () => {
    const stream = await openStream("/api/dashboards/o3/events?history=0");
    const t = at(60);
    // Cumulative: baseline, +200 over 2 s, a reset (value drops), +40 over 1 s.
    for (const [v, s] of [
      [100, 0],
      [500, 2],
      [20, 3],
      [60, 4],
    ] as const) {
      expect((await metrics("o3", request(counter("http.requests", [dp(v, t + s * 1000)])))).status).toBe(200);
    }
    // Delta with start times, per interface, summed: (300 + 100) bytes over 2 s.
    const net = [dp(300, t + 6000, { device: "eth0" }, t + 4000), dp(100, t + 6000, { device: "lo" }, t + 4000)];
    expect((await metrics("o3", request(counter("system.network.io", net, 1)))).status).toBe(200);
    const events = await stream.waitFor(3);
    expect(dataOf(events).map((u) => [u.req_rate ?? u.net_bytes, u.timestamp])).toEqual([
      [200, new Date(t + 2000).toISOString()],
      [40, new Date(t + 4000).toISOString()],
      [200, new Date(t + 6000).toISOString()],
    ]);
    await stream.close();
    // The baseline survives the object's restart. It is written when a series appears or resets
    // (here 20 at t+3 s) and then at most once a minute (durable-objects/ingest/counter-rates.ts),
    // so after a restart the next point's rate is the average since the stored one. Had the
    // object forgotten it, the point would only set a new baseline and the sample at t+8 s would
    // carry queue_depth alone.
    type Marked = { restartMarker?: true };
    await runInDurableObject(stub("o3"), async (obj, state) => {
      const rows = state.storage.sql.exec("SELECT key, v FROM counter_series").toArray();
      expect(rows).toContainEqual({ key: "http.requests{service.name=svc}", v: 20 });
      (obj as Marked).restartMarker = true;
    });
    await restart(stub("o3"));
    const after = await openStream("/api/dashboards/o3/events?history=0");
    // A new instance: nothing in memory came through.
    expect(await runInDurableObject(stub("o3"), (obj) => (obj as Marked).restartMarker)).toBeUndefined();
    const next = request(counter("http.requests", [dp(100, t + 8000)]), gauge("queue_depth", [dp(9, t + 8000)]));
    expect((await metrics("o3", next)).status).toBe(200);
    const [update] = dataOf(await after.waitFor(1));
    // +80 over the 5 s since the stored point (20 at t+3 s).
    expect(update).toEqual({ req_rate: 16, queue_depth: 9, timestamp: new Date(t + 8000).toISOString() });
    await after.close();
  });

  it("partialSuccess counts and names what was not shown: histograms, no metric, ambiguous series, out of window, out of range", async () => {
    const stream = await openStream("/api/dashboards/o4/events?history=0");
    const t = at(5);
    const body = JSON.stringify({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: "latency",
                  histogram: {
                    aggregationTemporality: 2,
                    dataPoints: [{ timeUnixNano: String(t * 1e6), count: "1", bucketCounts: ["1"], explicitBounds: [] }],
                  },
                },
                gauge("nobody.asked", [dp(1, t)]),
                // mem filters on host=a: two such series in one request, no aggregate → refused.
                gauge("mem_used_percent", [dp(50, t, { host: "a", dc: "x" }), dp(60, t, { host: "a", dc: "y" })]),
                gauge("queue_depth", [dp(5, Date.now() - 2 * 3600_000)]),
                gauge("disk_used_percent", [dp(150, t, { path: "/" })]),
                gauge("system.cpu.utilization", [dp(0.5, t, { "system.cpu.state": "user" })]),
              ],
            },
          ],
        },
      ],
    });
    const response = await metrics("o4", body);
    expect(response.status).toBe(200);
    const { partialSuccess } = (await response.json()) as { partialSuccess: { rejectedDataPoints: string; errorMessage: string } };
    expect(partialSuccess.rejectedDataPoints).toBe("6");
    for (const part of [
      'histogram "latency"',
      "nobody.asked",
      'metric "mem": 2 series match',
      "dc=x",
      "must be within the retention period",
      'metric "disk"',
      "150 is above the maximum 100",
    ]) {
      expect(partialSuccess.errorMessage).toContain(part);
    }
    const [event] = await stream.waitFor(1);
    expect(JSON.parse(event!.data)).toEqual({ cpu: 50, timestamp: new Date(t).toISOString() });
    await stream.close();
  });

  it("points without a time get now", async () => {
    const before = Date.now();
    const response = await metrics("o5", request(gauge("queue_depth", [{ asInt: "3" }])));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    await committed("o5");
    const stream = await openStream("/api/dashboards/o5/events?history=60");
    const [event] = await stream.waitFor(1);
    expect(Date.parse(JSON.parse(event!.data).timestamp)).toBeGreaterThanOrEqual(before);
    await stream.close();
  });

  it("400 with a google.rpc.Status in the request's encoding, 415, 413, 401", async () => {
    const bad = await metrics("o6", new Uint8Array([0x0a, 0xff, 0xff]), PB);
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toBe(PB);
    const raw = new Uint8Array(await bad.arrayBuffer());
    expect(raw[0]).toBe(0x08); // field 1 (code) …
    expect(raw[1]).toBe(3); // … INVALID_ARGUMENT
    expect(new TextDecoder().decode(raw.subarray(4))).toContain("invalid OTLP protobuf");

    const badJson = await metrics("o6", '{"resourceMetrics": 7}');
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ code: 3, message: expect.stringContaining("invalid OTLP JSON") });

    const text = await metrics("o6", "{}", "text/plain");
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ code: 3, message: expect.stringContaining("application/x-protobuf") });
    expect((await metrics("o6", "{}", JSON_TYPE, { "Content-Encoding": "br" })).status).toBe(415);

    const huge = await metrics("o6", new Uint8Array(4 * 1024 * 1024 + 1), PB);
    expect(huge.status).toBe(413);

    const anon = await SELF.fetch("https://dash.test/api/dashboards/o6/otlp/v1/metrics", {
      method: "POST",
      headers: { "Content-Type": JSON_TYPE },
      body: "{}",
    });
    expect(anon.status).toBe(401);
    expect((await getJson("/api/dashboards/o6/stats")).body).toMatchObject({ eventsPublished: 0 });
  });

  it("over the dashboard's point rate: 429 with Retry-After and nothing published", async () => {
    await runInDurableObject(stub("o7"), (obj) => {
      (obj as unknown as { pointBucket: TokenBucket }).pointBucket = new TokenBucket(1, 2);
    });
    const two = request(gauge("queue_depth", [dp(1, at(3))]), gauge("disk_used_percent", [dp(1, at(3), { path: "/" })]));
    expect((await metrics("o7", two)).status).toBe(200);
    const refused = await metrics("o7", two);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ code: 8 });
    await committed("o7");
    expect((await getJson("/api/dashboards/o7/stats")).body).toMatchObject({ eventsPublished: 1 });
  });
});

describe("OTLP logs: POST /api/dashboards/:id/otlp/v1/logs", () => {
  const logs = (dashboard: string, body: BodyInit, type = JSON_TYPE) => post(`/api/dashboards/${dashboard}/otlp/v1/logs`, body, type);

  it("SDK records in both encodings become log lines with mapped levels", async () => {
    const stream = await openStream("/api/dashboards/o8/events?history=0&logs=debug");
    const enc = await sdkLogs([
      { severityNumber: 9, severityText: "INFO", body: "order placed", attributes: { order: 42 } },
      { severityNumber: 17, body: "payment failed" },
      { severityNumber: 1, body: "trace detail" },
      { severityNumber: 13 }, // no body: rejected
    ]);
    const json = await logs("o8", enc.json);
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({ partialSuccess: { rejectedLogRecords: "1", errorMessage: "log record without a body" } });
    const pb = await logs("o8", enc.protobuf, PB);
    expect(pb.status).toBe(200);
    expect(fromBinary(ExportLogsServiceResponseSchema, new Uint8Array(await pb.arrayBuffer())).partialSuccess?.rejectedLogRecords).toBe(1n);
    const events = await stream.waitFor(6);
    const lines = dataOf(events, "log");
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ["info", "order placed"],
      ["error", "payment failed"],
      ["debug", "trace detail"],
      ["info", "order placed"],
      ["error", "payment failed"],
      ["debug", "trace detail"],
    ]);
    expect(lines[0].attributes).toMatchObject({ order: 42, "service.name": "checkout" });
    await stream.close();
  });

  it("past the dashboard's log rate: 429 with Retry-After, nothing published", async () => {
    await runInDurableObject(stub("o9"), (obj) => {
      (obj as unknown as { logBucket: TokenBucket }).logBucket = new TokenBucket(1, 2);
    });
    const enc = await sdkLogs([{ body: "a" }, { body: "b" }]);
    expect((await logs("o9", enc.json)).status).toBe(200);
    const refused = await logs("o9", enc.json);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toMatch(/^\d+$/);
    await committed("o9");
    expect((await getJson("/api/dashboards/o9/stats")).body).toMatchObject({ eventsPublished: 2 });
  });
});

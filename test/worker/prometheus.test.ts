// Prometheus remote write through the Worker's route, with hand-built WriteRequests read back
// from the SSE stream: mapping (gauges, counters by name and by `source.rate`, sums over CPUs,
// a histogram bucket), what is skipped (stale markers, NaN, unknown series) and every answer
// Prometheus's queue acts on. Dashboards p1–p14 (test/setup/dashboards.ts) are this file's and
// prometheus-fuzz.test.ts's.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DashboardStats } from "../../contract/index.ts";
import { TokenBucket } from "../../durable-objects/dashboard/rate-limit.ts";
import { app } from "../../worker/app.ts";
import { committed, getJson, openStream, stub } from "./helpers.ts";
import { maxCompressedLength } from "../../worker/protocols/snappy.ts";
import { at, bomb, PROTOBUF, remoteWrite, send, series, snappy, STALE, TOKEN, writeRequest } from "./remote-write-requests.ts";

const NODE = { instance: "db-1:9100", job: "node" };
const WRITTEN = "x-prometheus-remote-write-samples-written";

const updates = (events: { event?: string; data: string }[]) =>
  events.filter((e) => e.event === "metric-update").map((e) => JSON.parse(e.data) as Record<string, unknown>);

async function published(dashboard: string): Promise<number> {
  await committed(dashboard);
  return (await getJson<DashboardStats>(`/api/dashboards/${dashboard}/stats`)).body.eventsPublished;
}

describe("remote write: POST /api/dashboards/:id/prometheus/api/v1/write", () => {
  it("node_exporter-like series: gauges as they are, a recorded ratio scaled to %, unknown series ignored and counted", async () => {
    const stream = await openStream("/api/dashboards/p1/events?history=0");
    const t = at(10);
    const response = await send(
      "p1",
      series("node_load1", NODE, [[0.523, t]]),
      series("instance:node_memory_used:ratio", NODE, [[0.43219, t]]),
      // Nothing on p1 reads these: node_exporter sends hundreds like them.
      series("node_filesystem_avail_bytes", { ...NODE, device: "/dev/sda1", mountpoint: "/" }, [[1.2e10, t]]),
      series("go_gc_duration_seconds", { ...NODE, quantile: "0.5" }, [[0.0001, t]]),
      series("http_requests_total", { job: "web" }, [[5, t]]), // wrong job for req_rate
    );
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    // 5 samples in, 2 written: the 3 that feed no metric are ignored, not refused.
    expect(response.headers.get(WRITTEN)).toBe("2");
    const [update] = updates(await stream.waitFor(1));
    expect(update).toEqual({ load1: 0.52, memory: 43.2, timestamp: new Date(t).toISOString() });
    await committed("p1");
    expect(stream.events).toHaveLength(1);
    await stream.close();
  });

  it("_total series are counters: per-second rates, a reset is a new baseline (never negative); rate = false shows the count, rate = true makes any series a counter", async () => {
    const stream = await openStream("/api/dashboards/p2/events?history=0");
    const t = at(30);
    const api = { instance: "api-1:8080", job: "api" };
    // One request per scrape, as Prometheus sends them every batch_send_deadline.
    for (const [s, requests, jobs] of [
      [0, 100, 10],
      [2, 300, 20], // +200 over 2 s, +10 over 2 s
      [3, 50, 25], // the process restarted: a new baseline, no rate
      [4, 80, 40],
    ] as const) {
      const response = await send(
        "p2",
        series("http_requests_total", api, [[requests, t + s * 1000]]),
        series("jobs_processed", api, [[jobs, t + s * 1000]]),
      );
      expect(response.status).toBe(204);
    }
    const events = updates(await stream.waitFor(4));
    expect(events.map((u) => [u.timestamp, u.req_rate, u.req_count, u.jobs_rate])).toEqual([
      [new Date(t).toISOString(), undefined, 100, undefined],
      [new Date(t + 2000).toISOString(), 100, 300, 5],
      [new Date(t + 3000).toISOString(), undefined, 50, 5],
      [new Date(t + 4000).toISOString(), 30, 80, 15],
    ]);
    await stream.close();
  });

  it("a counter per CPU, summed; samples of several scrapes in one request", async () => {
    const stream = await openStream("/api/dashboards/p3/events?history=0");
    const t = at(20);
    const cpu = (n: string, mode: string, values: number[]) =>
      series(
        "node_cpu_seconds_total",
        { ...NODE, cpu: n, mode },
        values.map((v, i) => [v, t + i * 1000]),
      );
    const response = await send(
      "p3",
      cpu("0", "user", [100, 100.5, 101]),
      cpu("1", "user", [200, 200.25, 200.5]),
      cpu("0", "idle", [9, 9.5, 9.5]),
    );
    expect(response.status).toBe(204);
    expect(response.headers.get(WRITTEN)).toBe("6");
    const events = updates(await stream.waitFor(2));
    expect(events.map((u) => [u.timestamp, u.cpu_user])).toEqual([
      [new Date(t + 1000).toISOString(), 0.75],
      [new Date(t + 2000).toISOString(), 0.75],
    ]);
    await stream.close();
  });

  it("stale markers and other NaNs are skipped, not refused", async () => {
    const stream = await openStream("/api/dashboards/p4/events?history=0");
    const t = at(10);
    const load = series("node_load1", NODE, [
      [1.5, t],
      [STALE, t + 1000],
      [NaN, t + 2000],
      [1.25, t + 3000],
    ]);
    const response = await send("p4", load);
    expect(response.status).toBe(204);
    expect(response.headers.get(WRITTEN)).toBe("2");
    // A series that went away: Prometheus sends only its stale marker.
    const gone = await send("p4", series("node_load1", NODE, [[STALE, t + 4000]]));
    expect(gone.status).toBe(204);
    expect(gone.headers.get(WRITTEN)).toBe("0");
    expect(updates(await stream.waitFor(2)).map((u) => u.load1)).toEqual([1.5, 1.25]);
    await committed("p4");
    expect(stream.events).toHaveLength(2);
    await stream.close();
  });

  it("a value outside a metric's range: 400 naming the metric, nothing of the request written", async () => {
    const before = await published("p5");
    const t = at(5);
    const response = await send(
      "p5",
      series("node_load1", NODE, [[0.5, t]]),
      series("instance:node_memory_used:ratio", NODE, [[1.5, t]]), // 150 %
    );
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const body = await response.text();
    expect(body).toContain('metric "memory"');
    expect(body).toContain("150 is above the maximum 100");
    expect(body).toContain("nothing of this request was written");
    expect(await published("p5")).toBe(before);
  });

  it("extreme values: 1e308 reaches the stream as 1e308 (not null), an infinite one is refused with 400", async () => {
    const stream = await openStream("/api/dashboards/p12/events?history=0");
    const t = at(10);
    expect((await send("p12", series("node_load1", NODE, [[1e308, t]]))).status).toBe(204);
    expect(updates(await stream.waitFor(1))).toEqual([{ load1: 1e308, timestamp: new Date(t).toISOString() }]);
    const infinite = await send("p12", series("node_load1", NODE, [[Infinity, t + 1000]]));
    expect(infinite.status).toBe(400);
    expect(await infinite.text()).toContain('metric "load1" at');
    // An infinite value in a series no metric reads is ignored like the rest of it.
    expect((await send("p12", series("node_filesystem_avail_bytes", NODE, [[Infinity, t + 2000]]))).status).toBe(204);
    await stream.close();
  });

  it("histogram buckets are ignored unless a metric names one (here le=0.1, as a counter)", async () => {
    const stream = await openStream("/api/dashboards/p6/events?history=0");
    const t = at(10);
    const bucket = (le: string, a: number, b: number) =>
      series("http_request_duration_seconds_bucket", { job: "api", le }, [
        [a, t],
        [b, t + 2000],
      ]);
    const response = await send(
      "p6",
      bucket("0.1", 10, 30),
      bucket("0.5", 12, 40),
      bucket("+Inf", 13, 45),
      series("http_request_duration_seconds_count", { job: "api" }, [
        [13, t],
        [45, t + 2000],
      ]),
    );
    expect(response.status).toBe(204);
    expect(response.headers.get(WRITTEN)).toBe("2");
    expect(updates(await stream.waitFor(1))).toEqual([{ fast_requests: 10, timestamp: new Date(t + 2000).toISOString() }]);
    await stream.close();
  });

  it("metadata-only and empty requests: 204", async () => {
    const metadata = writeRequest([], [{ name: "node_load1", type: 2, help: "1m load average." }]);
    const a = await remoteWrite("p7", snappy(metadata));
    expect(a.status).toBe(204);
    expect(a.headers.get(WRITTEN)).toBe("0");
    expect((await remoteWrite("p7", snappy(new Uint8Array(0)))).status).toBe(204);
    // Remote write 1.0 named explicitly, as 2.0-era senders do.
    const explicit = await remoteWrite("p7", snappy(metadata), { "Content-Type": "application/x-protobuf;proto=prometheus.WriteRequest" });
    expect(explicit.status).toBe(204);
  });

  it("over the dashboard's point rate: 429 with Retry-After, nothing written", async () => {
    await runInDurableObject(stub("p8"), (obj) => {
      (obj as unknown as { pointBucket: TokenBucket }).pointBucket = new TokenBucket(1, 2);
    });
    const t = at(3);
    const two = [series("node_load1", NODE, [[1, t]]), series("instance:node_memory_used:ratio", NODE, [[0.5, t]])];
    expect((await send("p8", ...two)).status).toBe(204);
    const refused = await send("p8", ...two);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(await refused.text()).toMatch(
      /^dashboard "p8" takes \d+ samples\/s \(INGEST_POINTS_PER_SECOND\); nothing was written, retry in \d+ s$/,
    );
    expect(await published("p8")).toBe(1);
  });
});

describe("remote write: requests Prometheus must not retry", () => {
  const valid = () => snappy(writeRequest([series("node_load1", NODE, [[1, at(2)]])]));

  it("401 without the ingest token or with another one; 403 when ingest is off", async () => {
    const none = await remoteWrite("p9", valid(), { Authorization: "" });
    expect(none.status).toBe(401);
    const wrong = await remoteWrite("p9", valid(), { Authorization: `Bearer ${TOKEN}x` });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: "unauthorized" });
    // The same app with INGEST_TOKEN unset.
    const off = await app.request(
      "https://dash.test/api/dashboards/p9/prometheus/api/v1/write",
      {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": PROTOBUF, "Content-Encoding": "snappy" },
        body: valid(),
      },
      { ...env, INGEST_TOKEN: undefined } as Env,
    );
    expect(off.status).toBe(403);
    expect(await off.json()).toMatchObject({ error: "ingest_disabled" });
  });

  it("415 for another Content-Type, remote write 2.0, or another Content-Encoding", async () => {
    for (const [headers, says] of [
      [{ "Content-Type": "application/json" }, "send remote write 1.0"],
      [{ "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request" }, "remote write 2.0 is not supported"],
      [{ "Content-Encoding": "gzip" }, "send Content-Encoding: snappy"],
      [{ "Content-Encoding": "" }, "Content-Encoding none"],
    ] as const) {
      const response = await remoteWrite("p9", valid(), headers);
      expect(response.status, JSON.stringify(headers)).toBe(415);
      expect(await response.text()).toContain(says);
    }
  });

  it("400 with a readable text for a body that is not snappy, not a WriteRequest, or a series without a name", async () => {
    const notSnappy = await remoteWrite("p9", new TextEncoder().encode("hello, world"));
    expect(notSnappy.status).toBe(400);
    expect(notSnappy.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await notSnappy.text()).toMatch(/^body is not valid snappy: /);

    const notProtobuf = await remoteWrite("p9", snappy(new Uint8Array([0xff, 0xff, 0xff, 0xff])));
    expect(notProtobuf.status).toBe(400);
    expect(await notProtobuf.text()).toMatch(/^invalid remote write protobuf: /);

    const nameless = await remoteWrite("p9", snappy(writeRequest([{ labels: [["job", "x"]], samples: [[1, at(1)]] }])));
    expect(nameless.status).toBe(400);
    expect(await nameless.text()).toBe('a series without a __name__ label: {job="x"}');

    const empty = await remoteWrite("p9", null);
    expect(empty.status).toBe(400);
    expect(await empty.text()).toBe("body is not valid snappy: empty body");
    expect(await published("p9")).toBe(0);
  });

  it("a decompression bomb: 413 from its header, 400 when the header lies, 413 past the compressed limit; nothing written", async () => {
    const MiB = 1024 * 1024;
    // 3.9 MB of snappy inflating to 80 MiB: refused from the header's stated length, never inflated.
    const honest = await remoteWrite("p10", bomb(80 * MiB, 80 * MiB));
    expect(honest.status).toBe(413);
    expect(await honest.text()).toBe(
      "body exceeds 4194304 bytes once decompressed (PROMETHEUS_MAX_BYTES); lower queue_config.max_samples_per_send",
    );
    // The same bomb claiming 1,000 bytes: the walk stops at the 1,000th, snappyjs never runs.
    const lying = await remoteWrite("p10", bomb(1000, 80 * MiB));
    expect(lying.status).toBe(400);
    expect(await lying.text()).toBe("body is not valid snappy: inflates past the 1000 bytes its header states");
    const huge = await remoteWrite("p10", new Uint8Array(maxCompressedLength(4 * MiB) + 1));
    expect(huge.status).toBe(413);
    expect(await huge.text()).toBe(
      `the snappy body exceeds ${maxCompressedLength(4 * MiB)} bytes, more than any block of PROMETHEUS_MAX_BYTES (4194304) compresses to; lower queue_config.max_samples_per_send`,
    );
    expect(await published("p10")).toBe(0);
  });

  it("404 for a dashboard that does not exist", async () => {
    const response = await remoteWrite("no-such-dashboard", valid());
    expect(response.status).toBe(404);
  });
});

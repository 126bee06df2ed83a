// Split metrics (`source.by`) through every ingest route, read back as bytes from the SSE stream:
// OTLP (JSON and protobuf, SDK-made), line protocol, JSON samples and Prometheus remote write each
// reach the stream with `series` and the aggregate; the cap refuses the 21st series by name in
// each protocol's own error shape; a stale series leaves; per-series alerts raise and resolve;
// `?metrics=` narrows `series`; metrics without `by` send the bytes they always did.
// Dashboards s1–s16 (test/setup/dashboards.ts SPLIT_METRICS) are this file's.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ApiError } from "../../contract/index.ts";
import { committed, openStream, publish, restart, sample, stub } from "./helpers.ts";
import { dp, gauge, request } from "./otlp-requests.ts";
import { sdkMetrics } from "./protocols/producers.ts";
import { send, series } from "./remote-write-requests.ts";

const TOKEN = "test-ingest-token-0123456789";
const auth = { Authorization: `Bearer ${TOKEN}` };
/** A whole second some seconds ago. */
const at = (secondsAgo: number) => Math.floor(Date.now() / 1000) * 1000 - secondsAgo * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

const json = (dashboard: string, body: unknown) =>
  SELF.fetch(`https://dash.test/api/dashboards/${dashboard}/metrics`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
const otlp = (dashboard: string, body: BodyInit, type = "application/json") =>
  SELF.fetch(`https://dash.test/api/dashboards/${dashboard}/otlp/v1/metrics`, {
    method: "POST",
    headers: { ...auth, "Content-Type": type },
    body,
  });
const influx = (dashboard: string, body: string) =>
  SELF.fetch(`https://dash.test/api/v2/write?bucket=${dashboard}&precision=ms`, {
    method: "POST",
    headers: { Authorization: `Token ${TOKEN}` },
    body,
  });

/** The exact `data:` lines of the stream's events of `name`. */
const lines = (events: { event?: string; data: string }[], name = "metric-update") =>
  events.filter((e) => e.event === name).map((e) => e.data);

describe("split metrics reach the stream with `series`", () => {
  it.each(["json", "protobuf"] as const)(
    "OTLP/%s from the SDK: a series per host.name, the aggregate the worst (max), the critical host named",
    async (encoding) => {
      const dash = encoding === "json" ? "s1" : "s2";
      const stream = await openStream(`/api/dashboards/${dash}/events?history=0`);
      const enc = await sdkMetrics((m) => {
        const cpu = m.createGauge("system.cpu.utilization");
        cpu.record(0.4312, { "host.name": "web-1", "system.cpu.state": "user" });
        cpu.record(0.62, { "host.name": "web-2", "system.cpu.state": "user" });
        cpu.record(0.99, { "host.name": "web-3", "system.cpu.state": "user" });
        cpu.record(0.01, { "host.name": "web-3", "system.cpu.state": "idle" }); // another state: no metric takes it
        m.createGauge("queue_depth").record(7);
      });
      const response = await otlp(
        dash,
        encoding === "json" ? enc.json : enc.protobuf,
        encoding === "json" ? "application/json" : "application/x-protobuf",
      );
      expect(response.status).toBe(200);
      const events = await stream.waitFor(2);
      const [update] = lines(events);
      const t = JSON.parse(update!).timestamp as string;
      expect(update).toBe(`{"cpu":99,"queue_depth":7,"timestamp":"${t}","series":{"cpu":{"web-1":43.1,"web-2":62,"web-3":99}}}`);
      expect(lines(events, "alert")).toEqual([
        `{"level":"critical","metric":"cpu","series":"web-3","value":99,"threshold":95,"direction":"above","message":"CPU on web-3 is 99.0%, above critical 95%","timestamp":"${t}"}`,
      ]);
      await stream.close();
    },
  );

  it("line protocol: a series per mount tag; for direction 'below' the aggregate is the min", async () => {
    const stream = await openStream("/api/dashboards/s3/events?history=0");
    const t = at(10);
    const response = await influx("s3", [`disk,mount=/ free=42.25 ${t}`, `disk,mount=/data free=8 ${t}`].join("\n"));
    expect(response.status).toBe(204);
    const events = await stream.waitFor(2);
    expect(lines(events)).toEqual([`{"free_disk":8,"timestamp":"${iso(t)}","series":{"free_disk":{"/":42.3,"/data":8}}}`]);
    expect(JSON.parse(lines(events, "alert")[0]!)).toMatchObject({
      level: "critical",
      series: "/data",
      message: "Free disk on /data is 8.0 GB, below critical 10 GB",
    });
    await stream.close();
  });

  it("JSON samples: { metric: { series: value } }; a sum aggregate adds them; a plain number on a split metric is refused", async () => {
    const stream = await openStream("/api/dashboards/s4/events?history=0");
    const t = at(5);
    const response = await json("s4", { req_rate: { "/api/orders": 10.25, "/api/users": 5 }, queue_depth: 3, timestamp: iso(t) });
    expect(response.status).toBe(202);
    expect(lines(await stream.waitFor(1))).toEqual([
      `{"req_rate":15.3,"queue_depth":3,"timestamp":"${iso(t)}","series":{"req_rate":{"/api/orders":10.3,"/api/users":5}}}`,
    ]);
    for (const [body, message] of [
      [{ req_rate: 12 }, 'req_rate: split by route: send {"<route>": <number>, …}'],
      [{ req_rate: {} }, "req_rate: split by route: send"],
      [{ req_rate: { "/a": -1 } }, 'req_rate: series "/a": -1 is below the minimum 0'],
      [{ req_rate: { "": 1 } }, 'req_rate: series "": a series name must not be empty'],
    ] as const) {
      const bad = await json("s4", body);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as ApiError).message).toContain(message);
    }
    await stream.close();
  });

  it("Prometheus remote write: labels split like attributes", async () => {
    const stream = await openStream("/api/dashboards/s5/events?history=0");
    const t = at(10);
    const response = await send("s5", series("disk_free", { mount: "/" }, [[30, t]]), series("disk_free", { mount: "/tmp" }, [[15, t]]));
    expect(response.status).toBe(204);
    const events = await stream.waitFor(2);
    expect(lines(events)).toEqual([`{"free_disk":15,"timestamp":"${iso(t)}","series":{"free_disk":{"/":30,"/tmp":15}}}`]);
    expect(JSON.parse(lines(events, "alert")[0]!)).toMatchObject({ level: "warning", metric: "free_disk", series: "/tmp" });
    await stream.close();
  });
});

describe("maxSeries: the 21st series is refused by name, in each protocol's own shape", () => {
  const hosts = (n: number, from = 1) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`web-${from + i}`, 10 + i]));
  const NAMED = 'series "web-21" refused: it holds 20 live series already (maxSeries)';

  it("JSON: 400 and nothing of the request published", async () => {
    expect((await json("s6", { cpu: hosts(20), timestamp: iso(at(20)) })).status).toBe(202);
    const stream = await openStream("/api/dashboards/s6/events?history=0");
    const response = await json("s6", [
      { queue_depth: 1, timestamp: iso(at(10)) },
      { cpu: { "web-1": 5, "web-21": 50 }, timestamp: iso(at(10)) },
    ]);
    expect(response.status).toBe(400);
    expect((await response.json()) as ApiError).toEqual({ error: "invalid_sample", message: expect.stringContaining(`cpu: ${NAMED}`) });
    // A known series is still welcome.
    expect((await json("s6", { cpu: { "web-20": 1 }, timestamp: iso(at(5)) })).status).toBe(202);
    const [only] = lines(await stream.waitFor(1));
    expect(JSON.parse(only!).series).toEqual({ cpu: { "web-20": 1 } });
    await stream.close();
  });

  it("OTLP: partialSuccess names it; the other 20 are published", async () => {
    const stream = await openStream("/api/dashboards/s7/events?history=0");
    const t = at(5);
    const points = Array.from({ length: 21 }, (_, i) => dp(0.5, t, { "host.name": `web-${i + 1}`, "system.cpu.state": "user" }));
    const response = await otlp("s7", request(gauge("system.cpu.utilization", points)));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      partialSuccess: {
        rejectedDataPoints: "1",
        errorMessage: `metric "cpu": ${NAMED}; a series leaves after 120 s without points (staleSeconds)`,
      },
    });
    const [update] = lines(await stream.waitFor(1));
    expect(Object.keys(JSON.parse(update!).series.cpu)).toHaveLength(20);
    await stream.close();
  });

  it("line protocol: InfluxDB's error names the line and the series; nothing written", async () => {
    const t = at(5);
    const body = Array.from({ length: 21 }, (_, i) => `system.cpu,host.name=web-${i + 1},system.cpu.state=user utilization=0.5 ${t}`).join(
      "\n",
    );
    // `<measurement>_<field>`: the line-protocol series is system.cpu_utilization; the metric reads system.cpu.utilization.
    expect((await influx("s8", body)).status).toBe(204); // nothing matched: ignored, as InfluxDB ignores fields nobody reads
    const matching = Array.from({ length: 6 }, (_, i) => `disk,mount=/m${i + 1} free=50 ${t}`).join("\n");
    const response = await influx("s8", matching);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      code: "invalid",
      message: expect.stringMatching(
        /^at line 6: metric "free_disk": series "\/m6" refused: it holds 5 live series already \(maxSeries\).*nothing was written\)$/,
      ),
    });
  });

  it("remote write: 400 text naming it; nothing written", async () => {
    const t = at(5);
    const list = Array.from({ length: 21 }, (_, i) =>
      series("system.cpu.utilization", { "host.name": `web-${i + 1}`, "system.cpu.state": "user" }, [[0.5, t]]),
    );
    const response = await send("s9", ...list);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/^1 sample refused, nothing of this request was written: metric "cpu": series "web-21" refused/);
    await committed("s9");
    expect((await (await SELF.fetch("https://dash.test/api/dashboards/s9/stats")).json()) as { eventsPublished: number }).toMatchObject({
      eventsPublished: 0,
    });
  });
});

describe("staleness and per-series alerts", () => {
  it("a series silent for staleSeconds leaves: out of the aggregate, its alert cleared, its place free", async () => {
    const stream = await openStream("/api/dashboards/s10/events?history=0");
    // free_disk: below, critical 10, at most 5 series, stale after 60 s.
    const t0 = at(200);
    const mounts = { "/": 30, "/data": 8, "/a": 40, "/b": 40, "/c": 40 };
    expect((await json("s10", { free_disk: mounts, timestamp: iso(t0) })).status).toBe(202);
    // 59 s later /data is still live: it is the aggregate (the min), and a sixth mount has no place.
    expect((await json("s10", { free_disk: { "/": 31 }, timestamp: iso(t0 + 59_000) })).status).toBe(202);
    expect((await json("s10", { free_disk: { "/new": 50 }, timestamp: iso(t0 + 59_000) })).status).toBe(400);
    // 61 s after its last point /data (and /a, /b, /c) has gone: the aggregate is / alone, and /new fits.
    expect((await json("s10", { free_disk: { "/": 32, "/new": 50 }, timestamp: iso(t0 + 61_000) })).status).toBe(202);
    const events = await stream.waitFor(5);
    expect(events.map((e) => e.event)).toEqual(["metric-update", "alert", "metric-update", "metric-update", "alert"]);
    expect(JSON.parse(events[0]!.data).free_disk).toBe(8);
    expect(JSON.parse(events[2]!.data).free_disk).toBe(8);
    expect(JSON.parse(events[3]!.data)).toEqual({
      free_disk: 32,
      timestamp: iso(t0 + 61_000),
      series: { free_disk: { "/": 32, "/new": 50 } },
    });
    // The cleared alert comes after the sample that noticed, like any alert after its sample.
    expect(JSON.parse(events[4]!.data)).toEqual({
      level: "resolved",
      metric: "free_disk",
      series: "/data",
      value: 8,
      threshold: 20,
      direction: "below",
      message: "Free disk on /data: no data for 60 s, alert cleared (last 8.0 GB)",
      timestamp: iso(t0 + 61_000),
    });
    await stream.close();
  });

  it("per-series levels with hysteresis: web-2 raises, web-1 stays calm, web-2 resolves by name", async () => {
    const stream = await openStream("/api/dashboards/s11/events?history=0");
    const steps = [
      { "web-1": 40, "web-2": 85 }, // web-2 warning
      { "web-1": 79, "web-2": 96 }, // web-2 critical; web-1 under warning
      { "web-2": 94 }, // hysteresis 1.5: still critical
      { "web-2": 50 }, // resolved
    ];
    for (const [i, cpu] of steps.entries()) expect((await json("s11", { cpu, timestamp: iso(at(30 - i)) })).status).toBe(202);
    const alerts = lines(await stream.waitFor(7), "alert").map((a) => JSON.parse(a));
    expect(alerts.map((a) => [a.series, a.level, a.message])).toEqual([
      ["web-2", "warning", "CPU on web-2 is 85.0%, above warning 80%"],
      ["web-2", "critical", "CPU on web-2 is 96.0%, above critical 95%"],
      ["web-2", "resolved", "CPU on web-2 back to normal at 50.0% (below 80%)"],
    ]);
    await stream.close();
  });

  it("after a restart the live series are relearnt from the recent events: the aggregate still counts them", async () => {
    const stream = await openStream("/api/dashboards/s14/events?history=0");
    expect((await json("s14", { cpu: { "web-1": 99 }, timestamp: iso(at(20)) })).status).toBe(202);
    await committed("s14");
    await stream.close();
    await restart(stub("s14"));
    const again = await openStream("/api/dashboards/s14/events?history=0");
    expect((await json("s14", { cpu: { "web-2": 10 }, timestamp: iso(at(10)) })).status).toBe(202);
    const [update] = lines(await again.waitFor(1));
    expect(JSON.parse(update!)).toMatchObject({ cpu: 99, series: { cpu: { "web-2": 10 } } });
    // web-1's critical level survived too: no second alert for it.
    expect(lines(again.events, "alert")).toEqual([]);
    await again.close();
  });
});

describe("the wire for viewers that filter, and for metrics without `by`", () => {
  it("?metrics= carries a split metric's series with it, and only its own", async () => {
    const cpuOnly = await openStream("/api/dashboards/s12/events?history=0&metrics=cpu");
    const queueOnly = await openStream("/api/dashboards/s12/events?history=0&metrics=queue_depth");
    const t = at(5);
    expect((await json("s12", { cpu: { a: 1 }, free_disk: { "/": 50 }, queue_depth: 4, timestamp: iso(t) })).status).toBe(202);
    expect(lines(await cpuOnly.waitFor(1))).toEqual([`{"cpu":1,"timestamp":"${iso(t)}","series":{"cpu":{"a":1}}}`]);
    expect(lines(await queueOnly.waitFor(1))).toEqual([`{"queue_depth":4,"timestamp":"${iso(t)}"}`]);
    await cpuOnly.close();
    await queueOnly.close();
  });

  it("a sample with no split metric has no `series` key: its bytes are what they always were", async () => {
    const stream = await openStream("/api/dashboards/s13/events?history=0");
    const t = at(5);
    expect((await json("s13", { queue_depth: 4.4, timestamp: iso(t) })).status).toBe(202);
    expect(lines(await stream.waitFor(1))).toEqual([`{"queue_depth":4,"timestamp":"${iso(t)}"}`]);
    await stream.close();
    // The seed's five: the sample's own JSON, byte for byte, and the same alert payload as ever.
    const seed = await openStream("/api/dashboards/t40/events?history=0");
    const s = sample({ cpu: 93.5 });
    await publish("t40", s);
    const events = await seed.waitFor(2);
    expect(lines(events)).toEqual([JSON.stringify(s)]);
    expect(lines(events, "alert")).toEqual([
      `{"level":"critical","metric":"cpu","value":93.5,"threshold":90,"message":"CPU 93.5% is above critical threshold 90%","timestamp":"${s.timestamp}"}`,
    ]);
    await seed.close();
  });
});

describe("GET …/series for a split metric", () => {
  it("answers `by`: each series' min, max, avg and last beside the metric's own columns, the worst first", async () => {
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
    for (const [i, cpu] of [
      { a: 10, b: 90 },
      { a: 30, b: 70, c: 50 },
    ].entries())
      expect((await json("s15", { cpu, queue_depth: i, timestamp: iso(minute + i * 10_000) })).status).toBe(202);
    await committed("s15");
    const response = await SELF.fetch(
      `https://dash.test/api/dashboards/s15/series?from=${minute}&to=${minute + 59_000}&step=1m&metrics=cpu,queue_depth`,
    );
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { t: number[]; series: Record<string, { by?: Record<string, unknown> }> };
    expect(answer.t).toEqual([minute]);
    // Its own value: the max of the live series at each sample (90, then 70: b itself came down).
    expect(answer.series.cpu).toEqual({
      min: [70],
      max: [90],
      avg: [80],
      last: [70],
      by: {
        b: { min: [70], max: [90], avg: [80], last: [70] },
        c: { min: [50], max: [50], avg: [50], last: [50] },
        a: { min: [10], max: [30], avg: [20], last: [30] },
      },
    });
    expect(answer.series.queue_depth).not.toHaveProperty("by");
  });
});

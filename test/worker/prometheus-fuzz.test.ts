// Thousands of generated remote write requests through the route: valid WriteRequests of every
// shape (known and unknown series, counters, NaN and stale markers, values out of range, times
// out of the window), mutated before snappy (protobuf damage) or after (snappy damage), random
// bytes, and wrong headers. Never a 5xx; a 4xx writes nothing, a 204 writes at most one event per
// sample it counts as written; the stream alongside stays well-formed. And intact requests of
// gauges whose outcome is known in advance: all of one is written, or none of it.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareEventIds, parseEventId, type DashboardStats } from "../../contract/index.ts";
import { committed, getJson, openStream, type OpenStream } from "./helpers.ts";
import { mutated } from "./protocols/mutations.ts";
import { PROTOBUF, remoteWrite, snappy, STALE, TOKEN, writeRequest, type Series } from "./remote-write-requests.ts";

const DASH = "p11";
/** The dashboard of the all-or-nothing property. */
const MODEL_DASH = "p13";
const NOW = Date.now();

const name = fc.constantFrom(
  "node_load1",
  "instance:node_memory_used:ratio",
  "http_requests_total",
  "jobs_processed",
  "node_cpu_seconds_total",
  "http_request_duration_seconds_bucket",
  "node_filesystem_avail_bytes",
  "up",
);
const labels = fc.record(
  {
    job: fc.constantFrom("api", "web", "node"),
    instance: fc.constantFrom("a:9100", "b:9100"),
    mode: fc.constantFrom("user", "idle"),
    cpu: fc.constantFrom("0", "1"),
    le: fc.constantFrom("0.1", "+Inf"),
  },
  { requiredKeys: [] },
);
const value = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 1e6 }) },
  { weight: 1, arbitrary: fc.constantFrom<number | typeof STALE>(STALE, NaN, -1, Infinity, -Infinity, 1e308, -0) },
);
const time = fc.oneof(
  { weight: 9, arbitrary: fc.integer({ min: NOW - 3_000_000, max: NOW }) },
  { weight: 1, arbitrary: fc.constantFrom(0, NOW - 7_200_000, NOW + 3_600_000, -1, 2 ** 53) },
);
const oneSeries = fc.tuple(name, labels, fc.array(fc.tuple(value, time), { minLength: 1, maxLength: 4 })).map(([n, l, samples]): Series => {
  const sorted = Object.entries(l).sort(([a], [b]) => (a < b ? -1 : 1));
  return { labels: [["__name__", n], ...sorted], samples };
});
const request = fc.array(oneSeries, { minLength: 0, maxLength: 8 }).map((list) => writeRequest(list));

/** The body as sent: intact, damaged before snappy, damaged after it, or random bytes. */
const body = fc.oneof(
  { weight: 4, arbitrary: request.map(snappy) },
  { weight: 3, arbitrary: request.chain((pb) => mutated(pb)).map(snappy) },
  { weight: 3, arbitrary: request.chain((pb) => mutated(snappy(pb))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
);
const headers = fc.oneof(
  { weight: 9, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        "Content-Type": fc.constantFrom("application/json", "application/x-protobuf;proto=io.prometheus.write.v2.Request", PROTOBUF, ""),
        "Content-Encoding": fc.constantFrom("gzip", "identity", "", "SNAPPY"),
        Authorization: fc.constantFrom("", `Bearer ${TOKEN}`, "Bearer nope", `Token ${TOKEN}`),
      },
      { requiredKeys: [] },
    ),
  },
);

async function published(dashboard = DASH): Promise<number> {
  await committed(dashboard);
  return (await getJson<DashboardStats>(`/api/dashboards/${dashboard}/stats`)).body.eventsPublished;
}

let watcher: OpenStream;
beforeAll(async () => {
  watcher = await openStream(`/api/dashboards/${DASH}/events?history=0`);
});
afterAll(async () => {
  await watcher.close();
});

// Property runs are bounded by count, not time; a loaded machine only makes them slower.
describe("remote write under fuzzing", { timeout: 120_000 }, () => {
  const seen = new Map<number, number>();
  let wrote = 0;

  it("never a 5xx; a refused request writes nothing, an accepted one no more than it counts", async () => {
    let before = await published();
    await fc.assert(
      fc.asyncProperty(body, headers, async (bytes, extra) => {
        const response = await remoteWrite(DASH, bytes, extra);
        expect(response.status, await response.clone().text()).toBeLessThan(500);
        expect([204, 400, 401, 413, 415]).toContain(response.status);
        seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
        const after = await published();
        if (response.status === 204) {
          const written = Number(response.headers.get("x-prometheus-remote-write-samples-written"));
          expect(after - before).toBeLessThanOrEqual(written);
          if (after > before) wrote++;
        } else {
          expect(after, `${response.status} ${await response.text()}`).toBe(before);
          if (response.status === 400 || response.status === 415) expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
        }
        before = after;
      }),
      { numRuns: 1_500 },
    );
    // Every kind of answer happened, and accepted requests did publish.
    expect([...seen.keys()]).toEqual(expect.arrayContaining([204, 400, 401, 415]));
    expect(wrote).toBeGreaterThan(50);
  });

  it("all or nothing: an intact request of gauges is written whole when every value is in range, else refused whole", async () => {
    // node_load1 (min 0) and the memory ratio (× 100, 0–100), each series at most once, times
    // distinct within a series: the expected outcome follows from the values alone.
    const samples = (value: fc.Arbitrary<number | typeof STALE>) =>
      fc.uniqueArray(
        fc.tuple(
          value,
          fc.integer({ min: 0, max: 5 }).map((k) => NOW - 10_000 - k * 1000),
        ),
        {
          minLength: 1,
          maxLength: 4,
          selector: ([, t]) => t,
        },
      );
    const special = fc.constantFrom<number | typeof STALE>(STALE, NaN, -0.5, Infinity);
    const load = fc.option(
      samples(fc.oneof({ weight: 9, arbitrary: fc.double({ min: 0, max: 64, noNaN: true }) }, { weight: 1, arbitrary: special })),
    );
    const memory = fc.option(
      samples(fc.oneof({ weight: 9, arbitrary: fc.double({ min: 0, max: 1.05, noNaN: true }) }, { weight: 1, arbitrary: special })),
    );
    const outcomes = new Set<string>();
    let before = await published(MODEL_DASH);
    await fc.assert(
      fc.asyncProperty(load, memory, async (l, m) => {
        const list: Series[] = [];
        if (l)
          list.push({
            labels: [
              ["__name__", "node_load1"],
              ["job", "node"],
            ],
            samples: l,
          });
        if (m)
          list.push({
            labels: [
              ["__name__", "instance:node_memory_used:ratio"],
              ["job", "node"],
            ],
            samples: m,
          });
        const kept = [...(l ?? []), ...(m ?? [])].filter(([v]) => v !== STALE && !Number.isNaN(v)) as [number, number][];
        const refused =
          (l ?? []).some(([v]) => v !== STALE && (v < 0 || v === Infinity)) ||
          (m ?? []).some(([v]) => v !== STALE && (v * 100 > 100 || v < 0 || v === Infinity));
        const response = await remoteWrite(MODEL_DASH, snappy(writeRequest(list)));
        const after = await published(MODEL_DASH);
        if (refused) {
          expect(response.status, await response.text()).toBe(400);
          expect(after).toBe(before);
        } else {
          expect(response.status, await response.text()).toBe(204);
          expect(response.headers.get("x-prometheus-remote-write-samples-written")).toBe(String(kept.length));
          expect(after - before).toBe(new Set(kept.map(([, t]) => t)).size);
        }
        outcomes.add(refused ? "refused" : kept.length > 0 ? "written" : "empty");
        before = after;
      }),
      { numRuns: 300 },
    );
    expect([...outcomes].sort()).toEqual(["empty", "refused", "written"]);
  });

  it("left the stream alongside well-formed and complete", async () => {
    const total = await published();
    await watcher.waitForRaw(() => watcher.events.length >= total, 20_000);
    expect(watcher.events).toHaveLength(total);
    for (const e of watcher.events) {
      expect(e.event).toBe("metric-update");
      const data = JSON.parse(e.data) as Record<string, unknown>;
      for (const [k, v] of Object.entries(data)) {
        if (k === "timestamp") expect(Date.parse(v as string)).toBeGreaterThan(0);
        else expect(Number.isFinite(v), e.data).toBe(true);
      }
    }
    const ids = watcher.events.map((e) => parseEventId(e.id)!);
    for (let i = 1; i < ids.length; i++) expect(compareEventIds(ids[i - 1]!, ids[i]!)).toBeLessThan(0);
  });
});

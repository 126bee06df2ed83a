// GET /api/dashboards/:id/series through the Worker: the columnar answer, the step `auto`
// picks, every bad input, and the caching (ETag/304, long vs short max-age, old ranges served
// from the Worker's cache without reaching the object), with a hand-driven clock.
import { runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SERIES_STEPS, type ApiError, type SeriesAnswer } from "../../contract/index.ts";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import { chooseStep, LONG_MAX_AGE, MAX_POINTS, MIN_POINTS, parseTime, SHORT_MAX_AGE } from "../../worker/routes/series-query.ts";
import { committed, stub } from "./helpers.ts";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.parse("2026-12-01T12:00:00Z");

const get = (path: string, headers: Record<string, string> = {}) => SELF.fetch(`https://dash.test${path}`, { headers });
const reached = (dash: string) =>
  runInDurableObject(stub(dash), (obj: DashboardObject) => (obj as unknown as { feed: { queries: number } }).feed.queries);

async function seed(dash: string, samples: Record<string, number | string>[]): Promise<void> {
  await stub(dash).publish({ samples: samples as never });
  await committed(dash);
}

/** A complete sample of the seed's five. */
const full = (cpu: number, timestamp: number) => ({
  cpu,
  memory: 50,
  rps: 100 + cpu,
  activeConnections: 7,
  errorRate: 0.1,
  timestamp: new Date(timestamp).toISOString(),
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("choosing the step", () => {
  it("auto: the coarsest step with at least ~300 points, never more than 1,500", () => {
    const now = T0;
    expect(chooseStep(now - HOUR, now, now, 7)).toBe("1m"); // 61 points: the finest there is
    expect(chooseStep(now - DAY, now, now, 7)).toBe("5m"); // 289 points: "~300"
    expect(chooseStep(now - 20 * HOUR, now, now, 7)).toBe("2m");
    expect(chooseStep(now - 7 * DAY, now, now, 7)).toBe("30m");
    expect(chooseStep(now - 30 * DAY, now, now, 7)).toBe("2h"); // before the 1-minute buckets: whole hours
    expect(chooseStep(now - 90 * DAY, now, now, 7)).toBe("6h");
    expect(chooseStep(now - 8 * DAY, now - 7.5 * DAY, now, 7)).toBe("1h");
  });

  it("parses ISO 8601 with a zone and epoch milliseconds, and nothing else", () => {
    expect(parseTime("2026-12-01T12:00:00Z")).toBe(T0);
    expect(parseTime("2026-12-01T13:00:00+01:00")).toBe(T0);
    expect(parseTime(String(T0))).toBe(T0);
    for (const bad of ["yesterday", "2026-12-01T12:00:00", "2026-13-01T12:00:00Z", "1e12", "-5", ""])
      expect(parseTime(bad), bad).toBeNull();
  });
});

describe("GET /api/dashboards/:id/series", () => {
  it("answers columns per metric: min, max, avg, last per bucket, nulls where a metric has no sample", async () => {
    await seed("r7", [
      { queue_depth: 10, timestamp: new Date(T0 - 3 * MIN).toISOString() },
      { queue_depth: 20, success_ratio: 99.5, timestamp: new Date(T0 - 3 * MIN + 30_000).toISOString() },
      { success_ratio: 97.25, timestamp: new Date(T0 - MIN).toISOString() },
    ]);
    const response = await get(
      `/api/dashboards/r7/series?from=${T0 - 5 * MIN}&to=2026-12-01T12:00:00Z&step=1m&metrics=success_ratio,queue_depth`,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual<SeriesAnswer>({
      step: "1m",
      t: [T0 - 3 * MIN, T0 - MIN],
      series: {
        // Definition order, whatever order they were asked in.
        queue_depth: { min: [10, null], max: [20, null], avg: [15, null], last: [20, null] },
        success_ratio: { min: [99.5, 97.25], max: [99.5, 97.25], avg: [99.5, 97.25], last: [99.5, 97.25] },
      },
    });
  });

  it("auto-steps a day of 1 Hz samples into 5-minute buckets, every metric by default", async () => {
    const samples = Array.from({ length: 600 }, (_, i) => full(i % 90, T0 - 600_000 + i * 1000));
    await seed(
      "r8",
      samples.map(({ cpu, timestamp }) => ({ queue_depth: cpu, timestamp })),
    );
    const body = (await (await get(`/api/dashboards/r8/series`)).json()) as SeriesAnswer;
    expect(body.step).toBe("5m");
    expect(Object.keys(body.series)).toEqual(["queue_depth", "success_ratio", "http.server.p95", "cache_hits"]);
    expect(body.t).toEqual([T0 - 10 * MIN, T0 - 5 * MIN]);
    expect(body.series.queue_depth!.max).toEqual([89, 89]);
    expect(body.series.queue_depth!.last).toEqual([29, 59]); // samples 299 and 599
    expect(body.series.success_ratio!.avg).toEqual([null, null]);
  });

  it("answers a range without data with empty columns", async () => {
    const response = await get(`/api/dashboards/r1/series?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&metrics=cpu`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ step: "1h", t: [], series: { cpu: { min: [], max: [], avg: [], last: [] } } });
  });

  it.each([
    ["from=2026-12-01T12:00:00Z&to=2026-12-01T11:00:00Z", "is after to"],
    [`from=${T0 - 91 * DAY}&to=${T0}`, "over 90 days"],
    ["metrics=cpu,gpu", '"gpu"'],
    ["metrics=", "metrics"],
    ["from=yesterday", "from:"],
    ["to=2026-12-01", "to:"],
    ["step=7m", "step: unknown step"],
    ["step=fortnightly", "step: unknown step"],
    [`from=${T0 - 7 * DAY}&to=${T0}&step=1m`, "at most 1500"],
  ])("refuses %s with a 400 naming it", async (query, mention) => {
    const response = await get(`/api/dashboards/r2/series?${query}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as ApiError;
    expect(body.error).toBe("invalid_query");
    expect(body.message).toContain(mention);
  });

  it("refuses unknown and malformed dashboards like every dashboard route", async () => {
    expect((await get("/api/dashboards/nope/series")).status).toBe(404);
    expect((await get("/api/dashboards/No!/series")).status).toBe(400);
  });
});

describe("caching", () => {
  it("recent ranges: ETag, 304 on a match, a short max-age, and every request reaches the object", async () => {
    await seed("r3", [full(40, T0 - 2 * MIN)]);
    const path = `/api/dashboards/r3/series?from=${T0 - HOUR}&to=${T0}`;
    const before = await reached("r3");
    const first = await get(path);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.headers.get("cache-control")).toBe(`public, max-age=${SHORT_MAX_AGE}`);
    await first.body?.cancel();

    const again = await get(path, { "If-None-Match": `W/"nope", ${etag}` });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(await again.text()).toBe("");

    // New data in the range: a new tag.
    await seed("r3", [full(60, T0 - MIN)]);
    const changed = await get(path, { "If-None-Match": etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    await changed.body?.cancel();
    expect((await reached("r3")) - before).toBe(3);
  });

  it("old ranges: a long max-age, and repeats come from the Worker's cache without reaching the object", async () => {
    await seed("r4", [full(40, T0 - 30 * MIN), full(50, T0 - 10 * MIN)]);
    // Two hours on: the range is older than the ingest window (1 h) plus its margin.
    vi.setSystemTime(T0 + 2 * HOUR);
    const path = `/api/dashboards/r4/series?from=${T0 - HOUR}&to=${T0}&metrics=cpu`;
    const before = await reached("r4");
    const first = await get(path);
    expect(first.headers.get("cache-control")).toBe(`public, max-age=${LONG_MAX_AGE}, immutable`);
    const body = await first.text();
    expect(JSON.parse(body).series.cpu.max).toEqual([40, 50]);
    const etag = first.headers.get("etag")!;
    expect((await reached("r4")) - before).toBe(1);

    // The same range, also written differently (ISO instead of epoch ms): from the cache.
    const iso = `/api/dashboards/r4/series?from=${new Date(T0 - HOUR).toISOString()}&to=${new Date(T0).toISOString()}&metrics=cpu`;
    for (const p of [path, iso]) {
      const repeat = await get(p);
      expect(repeat.status).toBe(200);
      expect(await repeat.text()).toBe(body);
      expect(repeat.headers.get("etag")).toBe(etag);
      expect(repeat.headers.get("cache-control")).toBe(`public, max-age=${LONG_MAX_AGE}, immutable`);
    }
    const conditional = await get(path, { "If-None-Match": etag });
    expect(conditional.status).toBe(304);
    expect((await reached("r4")) - before).toBe(1);

    // A range that reaches into the ingest window is never taken from the cache.
    const recent = await get(`/api/dashboards/r4/series?from=${T0 - HOUR}&to=${T0 + 2 * HOUR}&metrics=cpu`);
    expect(recent.headers.get("cache-control")).toBe(`public, max-age=${SHORT_MAX_AGE}`);
    await recent.body?.cancel();
    expect((await reached("r4")) - before).toBe(2);
  });

  it("stays under 1,500 points per series whatever the range", () => {
    // Counted here bucket by bucket, not with the module's own pointsFor: the buckets of the
    // step, aligned to the epoch, that [from, to] touches.
    const bucketsTouched = (from: number, to: number, stepMs: number) => {
      let n = 0;
      for (let start = from - (((from % stepMs) + stepMs) % stepMs); start <= to; start += stepMs) n++;
      return n;
    };
    expect(bucketsTouched(T0 - DAY, T0, 5 * MIN)).toBe(289); // both ends on a boundary: 288 + 1
    expect(bucketsTouched(T0 - DAY + 1, T0 - 1, 5 * MIN)).toBe(288);
    for (let days = 0.001; days <= 90; days *= 1.21) {
      for (const history of [1, 7, 90]) {
        const from = T0 - days * DAY;
        const step = chooseStep(from, T0, T0, history);
        const points = bucketsTouched(from, T0, SERIES_STEPS[step]);
        expect(points).toBeLessThanOrEqual(MAX_POINTS);
        if (step !== "1m" && step !== "1h") expect(points).toBeGreaterThanOrEqual(MIN_POINTS);
      }
    }
  });
});

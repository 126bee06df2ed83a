// Thousands of generated requests at every route: never a 5xx, every error a JSON body, and the
// streams that stay open alongside keep parsing into valid frames with strictly increasing ids.
import { SELF } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareEventIds, EVENT, METRICS, parseEventId, type IngestResult } from "../../contract/index.ts";
import { committed, openStream, publishMany, type OpenStream } from "./helpers.ts";

const TOKEN = "test-ingest-token-0123456789";
const DASH = "t32";
const base = "https://dash.test";

// Text with control characters, CR/LF, separators, unicode and lone surrogates.
const nasty = fc.string({ unit: "binary", maxLength: 40 });
const headerSafe = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });
const idLike = fc.oneof(
  fc.constantFrom(DASH, "demo", "nope", "t1", "-x", "A", "a".repeat(63), "a".repeat(64)),
  nasty,
  fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,70}$/),
);
const lastEventIdLike = fc.oneof(
  headerSafe,
  fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.bigInt({ min: 0n, max: 10n ** 20n })).map(([a, b]) => `${a}-${b}`),
  fc.constantFrom("0-0", "-1-0", "1e3-0", " 1-1 ", "9007199254740993-0"),
);
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 100, 100.0001, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2));
const sampleLike = fc.record(
  {
    cpu: fc.oneof(number, nasty),
    memory: number,
    rps: fc.oneof(number, fc.nat()),
    activeConnections: fc.oneof(number, fc.nat()),
    errorRate: number,
    timestamp: fc.oneof(
      nasty,
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    ),
  },
  { requiredKeys: [] },
);
const goodSample = fc.record({
  cpu: fc.double({ min: 0, max: 100, noNaN: true }),
  memory: fc.double({ min: 0, max: 100, noNaN: true }),
  rps: fc.nat(),
  activeConnections: fc.nat(),
  errorRate: fc.double({ min: 0, max: 100, noNaN: true }),
});
const body = fc.oneof(
  goodSample.map((s) => JSON.stringify(s)),
  fc.array(goodSample, { minLength: 1, maxLength: 5 }).map((s) => JSON.stringify(s)),
  sampleLike.map((s) => JSON.stringify(s)),
  fc.array(sampleLike, { maxLength: 120 }).map((s) => JSON.stringify(s)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  nasty,
);

async function expectClean(response: Response, allowed: number[]): Promise<void> {
  expect(response.status, `status ${response.status}`).toBeLessThan(500);
  expect(allowed).toContain(response.status);
  if (response.status >= 400) {
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const json = (await response.json()) as { error: unknown; message: unknown };
    expect(typeof json.error).toBe("string");
    expect(typeof json.message).toBe("string");
  } else {
    await response.body?.cancel();
  }
}

let watchers: OpenStream[] = [];
let accepted = 0;

beforeAll(async () => {
  const [first] = await publishMany(DASH, 1);
  await committed(DASH); // history=0 below must not see it live
  watchers = await Promise.all([
    openStream(`/api/dashboards/${DASH}/events?history=0`),
    openStream(`/api/dashboards/${DASH}/events?history=0&metrics=cpu,errorRate`),
    openStream(`/api/dashboards/${DASH}/events`, { "Last-Event-ID": first! }),
  ]);
});

afterAll(async () => {
  await Promise.all(watchers.map((w) => w.close()));
});

// Property runs are bounded by count, not time; a loaded machine only makes them slower.
describe("fuzz", { timeout: 90_000 }, () => {
  it("dashboard ids on every route", async () => {
    await fc.assert(
      fc.asyncProperty(idLike, fc.constantFrom("events", "stats", "metrics", "nothing"), async (id, route) => {
        const path = `/api/dashboards/${encodeURIComponent(id)}/${route}`;
        const response = await SELF.fetch(
          base + path,
          route === "metrics" ? { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` }, body: "{}" } : {},
        );
        await expectClean(response, [200, 400, 404, 415]);
      }),
      { numRuns: 800 },
    );
  });

  it("stream query parameters and Last-Event-ID", async () => {
    const metricList = fc.array(fc.oneof(fc.constantFrom(...METRICS), nasty), { maxLength: 6 }).map((m) => m.join(","));
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            history: fc.oneof(nasty, fc.nat().map(String), fc.constantFrom("0", "3600", "99999999999")),
            metrics: metricList,
            lastEventId: lastEventIdLike,
            ticket: nasty,
          },
          { requiredKeys: [] },
        ),
        fc.option(lastEventIdLike),
        async (query, header) => {
          const params = new URLSearchParams(query as Record<string, string>);
          const response = await SELF.fetch(
            `${base}/api/dashboards/${DASH}/events?${params}`,
            header === null ? {} : { headers: { "Last-Event-ID": header } },
          );
          await expectClean(response, [200, 400, 414]);
        },
      ),
      { numRuns: 600 },
    );
  });

  it("ingest bodies, content types and tokens", async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "", "application/x-www-form-urlencoded"),
        fc.oneof(fc.constant(TOKEN), headerSafe),
        async (payload, type, token) => {
          const response = await SELF.fetch(`${base}/api/dashboards/${DASH}/metrics`, {
            method: "POST",
            headers: { "Content-Type": type, Authorization: `Bearer ${token}` },
            body: payload,
          });
          if (response.status === 202) {
            accepted += ((await response.clone().json()) as IngestResult).ids.length;
          }
          await expectClean(response, [202, 400, 401, 413, 415]);
        },
      ),
      { numRuns: 1200 },
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it("left every open stream parsing into valid frames, in order, with nothing lost", async () => {
    const [all, filtered, resumed] = watchers as [OpenStream, OpenStream, OpenStream];
    const metricCount = () => all.events.filter((e) => e.event === EVENT.metric).length;
    await all.waitForRaw(() => metricCount() >= accepted, 20_000);
    expect(metricCount()).toBe(accepted);
    for (const stream of watchers) {
      expect(stream.raw()).toMatch(/^retry: \d+\n\n/);
      const ids = stream.events.map((e) => e.id!);
      for (const e of stream.events) {
        expect([EVENT.metric, EVENT.alert]).toContain(e.event);
        expect(() => JSON.parse(e.data)).not.toThrow();
      }
      for (let i = 1; i < ids.length; i++) expect(compareEventIds(parseEventId(ids[i - 1])!, parseEventId(ids[i])!)).toBeLessThan(0);
    }
    for (const e of filtered.events.filter((e) => e.event === EVENT.metric)) {
      expect(Object.keys(JSON.parse(e.data))).toEqual(["cpu", "errorRate", "timestamp"]);
    }
    await resumed.waitFor(all.events.length, 20_000);
    expect(resumed.events.map((e) => e.id)).toEqual(all.events.map((e) => e.id));
  });
});

// What an anonymous client can make the owner pay for, bounded: streams per client address
// (MAX_STREAMS_PER_CLIENT, 20 here), the series cache keyed by the query normalized to its step,
// and catch-up reads from the log shared by concurrent reconnects. (/stats with relays:
// test/worker-relay/bounds.test.ts.)
import { runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ApiError, EventId } from "../../contract/index.ts";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import type { EventLog } from "../../durable-objects/event-log/event-log.ts";
import type { RecentWindow } from "../../durable-objects/streams/recent-window.ts";
import { clientAddress } from "../../worker/client-address.ts";
import { parseSeriesQuery } from "../../worker/routes/series-query.ts";
import { committed, openStream, publishMany, sleep, streamOf, stub, type OpenStream } from "./helpers.ts";

const from = (address: string | null): Record<string, string> => (address ? { "CF-Connecting-IP": address } : {});
const open = (dashboard: string, address: string | null, extra: Record<string, string> = {}) =>
  SELF.fetch(`https://dash.test/api/dashboards/${dashboard}/events?history=0`, { headers: { ...from(address), ...extra } });

afterEach(() => vi.useRealTimers());

describe("streams per client address", () => {
  it("caps one address at 20 streams of a dashboard with a 429 and Retry-After; the next viewer gets in", async () => {
    const held: OpenStream[] = [];
    for (let i = 0; i < 20; i++) held.push(await streamOf(await open("b1", "203.0.113.7")));
    const refused = await open("b1", "203.0.113.7");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(30);
    const body = (await refused.json()) as ApiError;
    expect(body.error).toBe("too_many_streams_from_client");
    expect(body.message).toContain("20 streams");
    // Another address, and a request that did not come through Cloudflare (no address), still get in.
    const next = await streamOf(await open("b1", "198.51.100.23"));
    const local = await streamOf(await open("b1", null));
    // The cap is per dashboard: the same address watches another one.
    const elsewhere = await streamOf(await open("b2", "203.0.113.7"));
    // A stream closed frees its place.
    await held.pop()!.close();
    let again = await open("b1", "203.0.113.7");
    // (The object notices a closed stream at its next write: within a heartbeat, 1 s here.)
    for (let i = 0; i < 500 && again.status === 429; i++) {
      await again.body?.cancel();
      await sleep(20);
      again = await open("b1", "203.0.113.7");
    }
    const reopened = await streamOf(again);
    await Promise.all([...held, next, local, elsewhere, reopened].map((s) => s.close()));
  });

  it("counts an IPv6 client by its /64", async () => {
    const held: OpenStream[] = [];
    for (let i = 0; i < 20; i++) held.push(await streamOf(await open("b3", `2001:db8:7:1::${(i + 1).toString(16)}`)));
    expect((await open("b3", "2001:0db8:0007:0001:ffff:0:0:1")).status).toBe(429);
    const neighbour = await streamOf(await open("b3", "2001:db8:7:2::1"));
    await Promise.all([...held, neighbour].map((s) => s.close()));
    expect(clientAddress("2001:DB8::1")).toBe("2001:db8:0:0::/64");
    expect(clientAddress("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(clientAddress(" 192.0.2.9 ")).toBe("192.0.2.9");
    expect(clientAddress(undefined)).toBeNull();
  });
});

describe("the series cache", () => {
  const T0 = Date.parse("2026-12-01T12:00:00Z");
  const MIN = 60_000;
  const reached = () =>
    runInDurableObject(stub("b2"), (obj: DashboardObject) => (obj as unknown as { feed: { queries: number } }).feed.queries);

  it("keys answers by the query floored to its step: queries inside the same buckets share one entry and one object call", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0);
    const at = (ms: number, cpu: number) => ({
      cpu,
      memory: 50,
      rps: 100,
      activeConnections: 7,
      errorRate: 0.1,
      timestamp: new Date(ms).toISOString(),
    });
    await stub("b2").publish({ samples: [at(T0 - 58 * MIN, 41), at(T0 - 30 * MIN, 42), at(T0 - 10 * MIN, 43)] });
    await committed("b2");
    vi.setSystemTime(T0 + 2 * 60 * MIN); // the range is settled: older than the ingest window
    const series = async (f: number, t: number) => {
      const response = await SELF.fetch(`https://dash.test/api/dashboards/b2/series?from=${f}&to=${t}&step=5m&metrics=cpu`);
      expect(response.status).toBe(200);
      return response.text();
    };
    const before = await reached();
    const first = await series(T0 - 60 * MIN + 1000, T0 - 1000);
    const second = await series(T0 - 56 * MIN, T0 - 2 * MIN); // inside the same first and last buckets
    expect(second).toBe(first);
    expect(JSON.parse(first).t).toEqual([T0 - 60 * MIN, T0 - 30 * MIN, T0 - 10 * MIN]);
    expect((await reached()) - before).toBe(1);
    // The next bucket is another query: another entry, and an answer without the first bucket.
    const later = await series(T0 - 55 * MIN, T0 - 1000);
    expect(JSON.parse(later).t).toEqual([T0 - 30 * MIN, T0 - 10 * MIN]);
    expect((await reached()) - before).toBe(2);
    // What reaches the object is the normalized query.
    const parsed = parseSeriesQuery({ from: String(T0 - 56 * MIN), to: String(T0 - 2 * MIN), step: "5m" }, { metrics: [] } as never, T0, 7);
    expect(parsed).toEqual({ ok: { from: T0 - 60 * MIN, to: T0 - 5 * MIN, step: "5m", metrics: [] } });
  });
});

describe("catch-up reads", () => {
  it("share one log read between concurrent reconnects from the same id", async () => {
    const ids = await publishMany("b4", 10);
    await (await openStream("/api/dashboards/b4/events?history=0")).close(); // the window is loaded once, as after any viewer
    const key = (id: string): EventId => ({ ms: Number(id.split("-")[0]), seq: Number(id.split("-")[1]) });
    // The window holds only the last five, so a resume from the second event needs the log. The
    // log's first read answers only once all 8 reconnects have asked for their catch-up, as a
    // remote log (Upstash) would still be answering the first.
    await runInDurableObject(stub("b4"), (obj: DashboardObject) => {
      const o = obj as unknown as {
        history: { window: RecentWindow; fromLog: (...a: unknown[]) => unknown };
        log: EventLog;
        calls: unknown;
      };
      o.history.window.reset(o.history.window.entries.slice(-5), key(ids[4]!));
      const calls = { fromLog: 0, trimmed: 0, readBefore: 0 };
      const { log, history } = o;
      const [fromLog, trimmedThrough, readBefore] = [history.fromLog.bind(history), log.trimmedThrough.bind(log), log.readBefore.bind(log)];
      history.fromLog = (...a: unknown[]) => (calls.fromLog++, fromLog(...a));
      log.trimmedThrough = async () => {
        calls.trimmed++;
        for (const deadline = Date.now() + 10_000; calls.fromLog < 8 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
        return trimmedThrough();
      };
      // Read back from just after the window's boundary (ids[4]): one page for all eight.
      log.readBefore = async (before: string | null, limit: number) => {
        calls.readBefore++;
        await new Promise((r) => setTimeout(r, 20));
        return readBefore(before, limit);
      };
      o.calls = calls;
    });

    const streams = await Promise.all(
      Array.from({ length: 8 }, () => openStream("/api/dashboards/b4/events?history=0", { "Last-Event-ID": ids[1]! })),
    );
    for (const s of streams) expect((await s.waitFor(8)).map((e) => e.id)).toEqual(ids.slice(2));
    await sleep(50);
    for (const s of streams) expect(s.events).toHaveLength(8);
    expect(await runInDurableObject(stub("b4"), (obj) => (obj as unknown as { calls: unknown }).calls)).toEqual({
      fromLog: 8,
      trimmed: 1,
      readBefore: 1,
    });
    await Promise.all(streams.map((s) => s.close()));
  });
});

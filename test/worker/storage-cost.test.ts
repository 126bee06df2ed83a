// What a dashboard costs in storage: the rows its object writes (Cloudflare bills them), read
// from GET …/stats as a user would. About one row per sample however many metrics, per log line
// in requests of 10, per health-check run; nothing for a simulated dashboard nobody watches;
// alert levels that survive a restart without a row per publish; and the byte caps that keep any
// sequence of requests from filling an object or a catch-up.
import { abortAllDurableObjects, createScheduledController, env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LIVE_WINDOW_SECONDS, type Alert, type DashboardStats, type Gap, type LogLine, type MetricUpdate } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import { simulate } from "../../core/simulation/metrics.ts";
import type { CheckRun } from "../../core/checks.ts";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import { CATCH_UP_MAX_BYTES } from "../../durable-objects/dashboard/catch-up.ts";
import { TokenBucket } from "../../durable-objects/dashboard/rate-limit.ts";
import { SqliteEventLog } from "../../durable-objects/event-log/sqlite-log.ts";
import { WINDOW_MAX_BYTES, type RecentWindow } from "../../durable-objects/streams/recent-window.ts";
import worker from "../../worker/index.ts";
import { committed, getJson, openStream, stub } from "./helpers.ts";

const stats = async (id: string) => (await getJson<DashboardStats>(`/api/dashboards/${id}/stats`)).body;
const written = async (id: string) => (await stats(id)).storage.rowsWritten;

/** `n` calm samples one second apart, ending now: what a source reporting at 1 Hz sends. */
function samples(n: number, make: (i: number) => Record<string, number>): MetricUpdate[] {
  const end = Math.floor(Date.now() / 1000) * 1000;
  return Array.from({ length: n }, (_, i) => ({ ...make(i), timestamp: new Date(end - (n - i) * 1000).toISOString() }));
}

const seedFive = (i: number) => ({ cpu: 40 + (i % 7), memory: 60, rps: 1200 + i, activeConnections: 130, errorRate: 0.4 });
const thirtyTwo = (i: number) => Object.fromEntries(Array.from({ length: 32 }, (_, m) => [`m${m}`, (i * 7 + m) % 500]));

describe("storage cost", () => {
  it("GET …/stats counts the object's rows read and written and its database's size", async () => {
    await stub("w5").publish({ samples: samples(1, seedFive) });
    const before = await stats("w5");
    expect(before.storage.rowsWritten).toBeGreaterThan(0);
    expect(before.storage.bytes).toBeGreaterThan(0);
    await stub("w5").publish({ samples: samples(1, seedFive) });
    await stub("w5").series({ from: 0, to: Date.now(), step: "1h", metrics: ["cpu"] });
    const after = await stats("w5");
    expect(after.storage.rowsWritten).toBeGreaterThan(before.storage.rowsWritten);
    expect(after.storage.rowsRead).toBeGreaterThan(before.storage.rowsRead);
  });

  it.each([
    ["w5", "the seed's five", seedFive],
    ["w32", "32 metrics", thirtyTwo],
  ])("a sample costs about one row written (%s: %s)", async (id, _what, make) => {
    await stub(id).publish({ samples: samples(1, make) }); // tables created
    const before = await written(id);
    // Ten minutes at 1 Hz, a sample a publish: the event, and the history buckets once a minute.
    for (const sample of samples(600, make)) await stub(id).publish({ samples: [sample] });
    await committed(id);
    expect(((await written(id)) - before) / 600).toBeLessThanOrEqual(1.1);
  });

  it("a sample of 32 split metrics × 20 series costs about one row too: the series are columns of the minute's row (w32s)", async () => {
    const id = "w32s";
    // As JSON ingest hands them over: each split metric's series (the object adds the aggregates).
    const split = (i: number) => ({
      series: Object.fromEntries(
        Array.from({ length: 32 }, (_, m) => [
          `m${m}`,
          Object.fromEntries(Array.from({ length: 20 }, (_, h) => [`host-${h}`, ((i + h) * 7 + m) % 500])),
        ]),
      ),
    });
    const send = (list: MetricUpdate[]) => stub(id).ingestSamples({ samples: list, points: 640 * list.length });
    // 640 values a sample, sent as fast as the test can: past the point rate, which is not what this measures.
    await runInDurableObject(stub(id), (obj: DashboardObject) => {
      (obj as unknown as { pointBucket: TokenBucket }).pointBucket = new TokenBucket(1e9, 1e9);
    });
    await send(samples(1, split as never)); // tables created
    const before = await written(id);
    for (const sample of samples(600, split as never)) expect(await send([sample])).toHaveProperty("ids");
    await committed(id);
    const perSample = ((await written(id)) - before) / 600;
    expect(perSample).toBeLessThanOrEqual(1.1);
    // The minute row: 32 metrics and 640 series columns, about 50 KB of SQLite's 2 MB a row.
    const size = await runInDurableObject(
      stub(id),
      (_obj, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT max(length(names) + length(slots)) AS n FROM rollups WHERE tier = 1").one().n,
    );
    console.log(`w32s: ${perSample.toFixed(3)} rows written a sample; a minute row is ${size} bytes`);
    expect(size).toBeGreaterThan(672 * 48); // every column is there: 6 doubles each
    expect(size).toBeLessThan(100 * 1024);
  });

  it("a log line costs at most about one row in requests of ten; a health-check run about one", async () => {
    await stub("w5").publishLogs({ lines: [line(0)] });
    let before = await written("w5");
    for (let r = 0; r < 30; r++) await stub("w5").publishLogs({ lines: Array.from({ length: 10 }, (_, i) => line(r * 10 + i)) });
    expect(((await written("w5")) - before) / 300).toBeLessThanOrEqual(1.1);

    const run = (i: number): CheckRun => ({ ok: true, latencyMs: 12, statusCode: 200, at: Date.now() + i * 3_600_000 });
    await stub("h3").recordCheck({ name: "cost", run: run(-1) }); // the first run: the check is up
    before = await written("h3");
    for (let i = 0; i < 100; i++) await stub("h3").recordCheck({ name: "cost", run: run(i) });
    expect(((await written("h3")) - before) / 100).toBeLessThanOrEqual(1.1);
  });

  it("an alert level survives a restart without a write per publish: one resolved, no second critical", async () => {
    const stream = await openStream("/api/dashboards/w32/events?history=0&metrics=m3&logs=none");
    await stub("w32").publish({ samples: samples(1, () => ({ m3: 950 })) });
    const [, raised] = await stream.waitFor(2); // the sample and its critical alert
    expect((JSON.parse(raised!.data) as Alert).level).toBe("critical");
    await abortAllDurableObjects();
    await stub("w32").publish({ samples: samples(1, () => ({ m3: 920 })) }); // still critical: no new alert
    await stub("w32").publish({ samples: samples(1, () => ({ m3: 10 })) });
    const after = await openStream("/api/dashboards/w32/events?metrics=m3&logs=none", { "Last-Event-ID": raised!.id! });
    const events = await after.waitFor(3);
    expect(events.map((e) => (e.event === "alert" ? (JSON.parse(e.data) as Alert).level : e.event))).toEqual([
      "metric-update",
      "metric-update",
      "resolved",
    ]);
    await Promise.all([stream.close(), after.close()]);
  });

  it("eventsPublished survives a restart although it is not written on every publish: recounted from the log", async () => {
    for (const sample of samples(7, seedFive)) await stub("w5").publish({ samples: [sample] });
    const before = (await stats("w5")).eventsPublished;
    await abortAllDurableObjects();
    expect((await stats("w5")).eventsPublished).toBe(before);
  });

  it("a simulated dashboard nobody watches writes nothing over two cron invocations; a watched one does", async () => {
    const [quietBefore, watchedBefore] = [await written("wsim1"), await written("wsim2")];
    const stream = await openStream("/api/dashboards/wsim2/events?history=0");
    const controller = () => createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" });
    await worker.scheduled(controller(), env);
    await worker.scheduled(controller(), env);
    expect(await written("wsim1")).toBe(quietBefore);
    expect((await stats("wsim1")).eventsPublished).toBe(0);
    await stream.waitFor(2);
    expect(await written("wsim2")).toBeGreaterThan(watchedBefore);
    await stream.close();
  });

  it("the first viewer of a simulated dashboard nobody watched gets its live window at once: the simulator's ticks, for a few rows", async () => {
    const before = await written("wsim3");
    const opened = Date.now();
    const stream = await openStream(`/api/dashboards/wsim3/events?history=${LIVE_WINDOW_SECONDS}&logs=none`);
    // History is written in one go, before anything live: a sample per second of the window.
    await stream.waitFor(LIVE_WINDOW_SECONDS - 1);
    const times = stream.events
      .filter((e) => e.event === "metric-update")
      .map((e) => Date.parse((JSON.parse(e.data) as MetricUpdate).timestamp));
    expect(times.length).toBeGreaterThanOrEqual(LIVE_WINDOW_SECONDS - 1);
    expect(times[0]).toBeLessThanOrEqual(opened - (LIVE_WINDOW_SECONDS - 2) * 1000);
    expect(times.slice(1).every((t, i) => t - times[i]! === 1000)).toBe(true);
    const def = readConfig(env).dashboards.find((d) => d.id === "wsim3")!;
    expect(JSON.parse(stream.events[0]!.data)).toEqual(simulate(readConfig(env).seed, def, times[0]!));
    // 900 samples and their log lines: the log's chunks and a minute row each, not a row a sample.
    expect((await written("wsim3")) - before).toBeLessThan(60);
    // Then live, a tick a second.
    const newest = times.at(-1)!;
    await stream.waitForRaw(() =>
      stream.events.some((e) => e.event === "metric-update" && Date.parse((JSON.parse(e.data) as MetricUpdate).timestamp) > newest),
    );
    await stream.close();
  });

  it("the JSON metrics route is rate-limited per dashboard like points: 429 with Retry-After, nothing published", async () => {
    await runInDurableObject(stub("w5"), (obj: DashboardObject) => {
      (obj as unknown as { pointBucket: TokenBucket }).pointBucket = new TokenBucket(1, 8);
    });
    const before = (await stats("w5")).eventsPublished;
    const send = (n: number) =>
      SELF.fetch("https://dash.test/api/dashboards/w5/metrics", {
        method: "POST",
        headers: { Authorization: "Bearer test-ingest-token-0123456789", "Content-Type": "application/json" },
        body: JSON.stringify(samples(n, seedFive)),
      });
    expect((await send(1)).status).toBe(202); // 5 values
    const refused = await send(1); // 5 more: over the burst of 8
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ error: "rate_limited" });
    expect((await stats("w5")).eventsPublished).toBe(before + 1);
  });
});

describe("bounded by bytes", () => {
  it("the in-memory window holds at most WINDOW_MAX_BYTES; a resume older than it comes from the log, exactly", async () => {
    const big = "x".repeat(8000);
    const first = await stub("t40").publishLogs({ lines: [line(0)] });
    for (let r = 0; r < 8; r++)
      await stub("t40").publish({ samples: [], logs: Array.from({ length: 100 }, (_, i) => line(r * 100 + i, big)) });
    await committed("t40");
    const held = await runInDurableObject(stub("t40"), (obj: DashboardObject) => (obj as unknown as { window: RecentWindow }).window);
    expect(held.bytes).toBeLessThanOrEqual(WINDOW_MAX_BYTES);
    expect(held.entries.length).toBeLessThan(801);
    const resumed = await openStream("/api/dashboards/t40/events?logs=debug", { "Last-Event-ID": (first as { ids: string[] }).ids[0]! });
    const events = await resumed.waitFor(800, 10_000);
    expect(events.every((e) => e.event === "log")).toBe(true);
    expect(new Set(events.map((e) => e.id)).size).toBe(800);
    await resumed.close();
  });

  it("a resume from further back than CATCH_UP_MAX_BYTES gets the newest of it, after a gap naming what it skips", async () => {
    const big = "x".repeat(8000);
    const ids: string[] = [];
    // 1,600 lines of 8 KB, 13 MB: the window holds the newest 2.7 MB, the log part 4 MiB before that.
    for (let r = 0; r < 16; r++)
      ids.push(...(await stub("t41").publish({ samples: [], logs: Array.from({ length: 100 }, (_, i) => line(r * 100 + i, big)) })).ids);
    await committed("t41");
    const newest = ids[ids.length - 1]!;
    const upToNewest = async (path: string, headers: Record<string, string> = {}) => {
      const stream = await openStream(path, headers);
      await stream.waitForRaw(() => stream.events.at(-1)?.id === newest, 10_000);
      await stream.close();
      return stream.events;
    };
    const resumed = await upToNewest("/api/dashboards/t41/events?logs=debug", { "Last-Event-ID": ids[0]! });
    const [gap, ...replayed] = resumed;
    expect(gap!.event).toBe("gap");
    const notice = JSON.parse(gap!.data) as Gap;
    expect(notice).toMatchObject({ lastEventId: ids[0], message: expect.stringContaining("more than 4 MB to send") });
    // Contiguous from just after the gap's oldestId to the newest: nothing skipped past it, nothing twice.
    expect(replayed.map((e) => e.id)).toEqual(ids.slice(ids.indexOf(notice.oldestId!) + 1));
    const bytes = replayed.reduce((n, e) => n + e.data.length, 0);
    expect(bytes).toBeGreaterThan(CATCH_UP_MAX_BYTES);
    expect(bytes).toBeLessThanOrEqual(CATCH_UP_MAX_BYTES + WINDOW_MAX_BYTES / 3);
    // An hour of history sends the same newest part, without a notice (nothing was asked for by id).
    const history = await upToNewest("/api/dashboards/t41/events?logs=debug&history=3600");
    expect(history.map((e) => e.id)).toEqual(replayed.map((e) => e.id));
  });

  it("the SQLite event log keeps at most MAX_LOG_BYTES: the oldest go first, and a resume below them is told", async () => {
    await runInDurableObject(stub("sqlite-cap"), async (_obj, state) => {
      const log = new SqliteEventLog(state.storage.sql, 200_000);
      const data = JSON.stringify({ text: "y".repeat(1000) });
      for (let i = 0; i < 400; i++) await log.append([{ id: `${1000 + i}-0`, event: "log", data }]);
      const kept = await log.readAfter("0-0", 1000);
      const bytes = kept.reduce((n, e) => n + e.id.length + e.event.length + e.data.length + 3, 0);
      expect(bytes).toBeLessThanOrEqual(200_000);
      expect(kept.length).toBeGreaterThan(100);
      expect(kept[kept.length - 1]!.id).toBe("1399-0"); // the newest are kept
      const trimmed = await log.trimmedThrough();
      expect(Number(trimmed!.split("-")[0]) + 1).toBe(Number(kept[0]!.id.split("-")[0]));
    });
  });
});

function line(i: number, message = `line ${i}`): LogLine {
  return { level: "info", message, timestamp: new Date().toISOString() };
}

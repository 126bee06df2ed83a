// The dashboard object on the Upstash log when Upstash misbehaves, inside workerd. The object's
// log is swapped for one pointing at a failing endpoint (a black hole that never answers, or a
// bridge whose redis is down) and back, which is what an outage looks like from the object.
// The end-to-end version (wrangler dev, redis-server stopped and restarted) is
// test/node/upstash-e2e.test.ts.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import type { DashboardStats } from "../../contract/index.ts";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import type { EventLog } from "../../durable-objects/event-log/event-log.ts";
import { UpstashEventLog } from "../../durable-objects/event-log/upstash-log.ts";
import { getJson, openStream, publish, publishMany, sample, sleep, stub } from "../worker/helpers.ts";

// The object reads its log in three places: its own start-up, the append chain and catch-up.
type WithLog = { log: EventLog; appends: { log: EventLog }; history: { log: EventLog } };
const setLog = (o: WithLog, log: EventLog) => (o.log = o.appends.log = o.history.log = log);

/** Points the dashboard's object at `url` instead of the bridge; returns how to undo it. */
async function breakLog(dashboard: string, url: string): Promise<() => Promise<void>> {
  let original: EventLog | undefined;
  await runInDurableObject(stub(dashboard), (obj: DashboardObject) => {
    const o = obj as unknown as WithLog;
    original = o.log;
    setLog(o, new UpstashEventLog({ url, token: inject("upstashToken") }, dashboard, 3600));
  });
  return () =>
    runInDurableObject(stub(dashboard), (obj: DashboardObject) => {
      setLog(obj as unknown as WithLog, original!);
    });
}

describe("dashboard object on Upstash, when Upstash is in trouble", () => {
  it("keeps open streams beating through a hang, then delivers what was accepted, in order", async () => {
    const before = await publishMany("t1", 2);
    const stream = await openStream("/api/dashboards/t1/events?history=60");
    await stream.waitFor(2);
    const restore = await breakLog("t1", inject("upstashBlackholeUrl"));

    const [during] = await publish("t1", sample({ rps: 4242 })); // accepted at once; the append times out (3 s)
    let body: DashboardStats | undefined;
    for (let i = 0; i < 60 && body?.eventLog.status !== "degraded"; i++) {
      await sleep(100);
      body = (await getJson<DashboardStats>("/api/dashboards/t1/stats")).body;
    }
    expect(body!.eventLog).toMatchObject({ backend: "upstash-redis", status: "degraded" });
    expect(body!.eventLog.reason).toMatch(/^Upstash: timeout after 3000 ms/);
    await stream.waitForRaw((raw) => (raw.match(/: heartbeat\n\n/g) ?? []).length >= 2, 3000);
    expect(stream.events).toHaveLength(2); // not delivered: it is not in the log yet

    await restore();
    const after = await publishMany("t1", 2);
    const all = [...before, during!, ...after];
    expect((await stream.waitFor(5)).map((e) => e.id)).toEqual(all);
    expect(JSON.parse(stream.events[2]!.data).rps).toBe(4242);
    expect((await getJson<DashboardStats>("/api/dashboards/t1/stats")).body.eventLog).toEqual({
      backend: "upstash-redis",
      status: "ok",
    });
    await sleep(50);
    expect(stream.events).toHaveLength(5);
    await stream.close();
  });

  // A resume point inside the in-memory window cannot have lost events to trimming (the log
  // only trims older than the window), so catch-up must not ask the log at all: with Redis down,
  // asking would fail the reconnect with "catch-up failed".
  it("serves a client that resumes during an outage from memory when the window covers it", async () => {
    const ids = await publishMany("t2", 3);
    const warm = await openStream("/api/dashboards/t2/events?history=60"); // the window is loaded
    await warm.waitFor(3);
    const restore = await breakLog("t2", inject("upstashDeadRedisUrl"));
    try {
      const again = await openStream("/api/dashboards/t2/events?history=0", { "Last-Event-ID": ids[0]! });
      expect((await again.waitFor(2, 2000)).map((e) => e.id)).toEqual(ids.slice(1));
      await again.close();
    } finally {
      await restore();
      await warm.close();
    }
  });

  // Events are durable once in the object's outbox, so publish() answers then, without waiting
  // for the append: were it to wait, each publish would take the full Upstash timeout while
  // Upstash hangs, and the cron publisher, a tick at a time, would skip the ticks in between.
  it("accepts a publish promptly while Upstash hangs (the outbox is durable)", async () => {
    await publishMany("t3", 1);
    const restore = await breakLog("t3", inject("upstashBlackholeUrl"));
    try {
      const started = Date.now();
      await publish("t3", sample());
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await restore();
    }
  });
});

import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseEventId } from "../../contract/index.ts";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import type { RecentWindow } from "../../durable-objects/streams/recent-window.ts";
import { openStream, publishMany, sleep, stub } from "./helpers.ts";

describe("resume with Last-Event-ID", () => {
  it("sends exactly the missed events, then live ones", async () => {
    const first = await openStream("/api/dashboards/t6/events?history=0");
    const before = await publishMany("t6", 5);
    const seen = await first.waitFor(3);
    await first.close();
    const missed = await publishMany("t6", 4);

    const again = await openStream("/api/dashboards/t6/events?history=0", { "Last-Event-ID": seen[2]!.id! });
    const expected = [...before.slice(3), ...missed];
    expect((await again.waitFor(expected.length)).map((e) => e.id)).toEqual(expected);
    const live = await publishMany("t6", 2);
    expect((await again.waitFor(expected.length + 2)).map((e) => e.id)).toEqual([...expected, ...live]);
    await sleep(100);
    expect(again.events).toHaveLength(expected.length + 2); // nothing twice
    await again.close();
  });

  it("accepts ?lastEventId= for clients that reconnect by hand", async () => {
    const ids = await publishMany("t7", 6);
    const stream = await openStream(`/api/dashboards/t7/events?lastEventId=${ids[1]}`);
    expect((await stream.waitFor(4)).map((e) => e.id)).toEqual(ids.slice(2));
    await stream.close();
  });

  it("fills the gap after the object is evicted", async () => {
    const first = await openStream("/api/dashboards/t8/events?history=0");
    const ids = await publishMany("t8", 3);
    await first.waitFor(3);
    await first.close();
    await evictDurableObject(stub("t8"));
    const missed = await publishMany("t8", 3);
    const again = await openStream("/api/dashboards/t8/events?history=0", { "Last-Event-ID": ids[2]! });
    expect((await again.waitFor(3)).map((e) => e.id)).toEqual(missed);
    await again.close();
  });

  it("loses nothing when every object is aborted under open streams (a deploy)", async () => {
    const stream = await openStream("/api/dashboards/t9/events?history=0");
    const ids = await publishMany("t9", 4);
    await stream.waitFor(4);
    await abortAllDurableObjects();
    expect(await stream.ended).toBe("error");
    const after = await publishMany("t9", 3);
    const again = await openStream("/api/dashboards/t9/events?history=0", { "Last-Event-ID": ids[3]! });
    expect((await again.waitFor(3)).map((e) => e.id)).toEqual(after);
    const live = await publishMany("t9", 1);
    expect((await again.waitFor(4)).map((e) => e.id)).toEqual([...after, ...live]);
    await again.close();
  });

  // The gap notice for an id older than retention: see retention.test.ts, which trims the way
  // the object does in production.

  it("treats a malformed id as a fresh connect", async () => {
    const ids = await publishMany("t11", 2);
    for (const bad of ["abc", "12", "1-2-3", "-1-0", "99999999999999999999-0", "%0d%0aevent: x"]) {
      const stream = await openStream("/api/dashboards/t11/events?history=60", { "Last-Event-ID": bad });
      expect((await stream.waitFor(2)).map((e) => e.id)).toEqual(ids);
      await stream.close();
    }
  });

  it("sends history and a gap notice for an id this dashboard never issued", async () => {
    const ids = await publishMany("t12", 2);
    const stream = await openStream("/api/dashboards/t12/events?history=60", { "Last-Event-ID": "9999999999999-0" });
    const [gap, ...rest] = await stream.waitFor(3);
    expect(gap!.event).toBe("gap");
    expect(rest.map((e) => e.id)).toEqual(ids);
    await stream.close();
  });

  it("knows an id it never issued even when it is older than the newest: from memory, and from the log", async () => {
    const ids = await publishMany("t42", 12);
    // Between two issued ids (as a viewer of a log that was since reset would send): never issued.
    const between = `${ids[5]!.split("-")[0]}-999`;
    const fromMemory = await openStream("/api/dashboards/t42/events?history=60", { "Last-Event-ID": between });
    const [gap, ...rest] = await fromMemory.waitFor(13);
    expect(gap).toMatchObject({ event: "gap", data: expect.stringContaining("unknown event id") });
    expect(rest.map((e) => e.id)).toEqual(ids);
    await fromMemory.close();
    // The same once the window holds only the last four: the log shows it.
    await runInDurableObject(stub("t42"), (obj: DashboardObject) => {
      const o = (obj as unknown as { history: { window: RecentWindow } }).history;
      o.window.entries = o.window.entries.slice(-4);
      o.window.coveredAfter = parseEventId(ids[7]);
    });
    const fromLog = await openStream("/api/dashboards/t42/events?history=60", { "Last-Event-ID": between });
    expect((await fromLog.waitFor(1))[0]).toMatchObject({ event: "gap", data: expect.stringContaining("unknown event id") });
    await fromLog.close();
    // An issued id there is a plain resume.
    const issued = await openStream("/api/dashboards/t42/events", { "Last-Event-ID": ids[5]! });
    expect((await issued.waitFor(6)).map((e) => e.id)).toEqual(ids.slice(6));
    await issued.close();
  });

  it("serves resume from the log after a cold start, beyond the in-memory window", async () => {
    const ids = await publishMany("t13", 30);
    await evictDurableObject(stub("t13"));
    const stream = await openStream("/api/dashboards/t13/events", { "Last-Event-ID": ids[0]! });
    expect((await stream.waitFor(29)).map((e) => e.id)).toEqual(ids.slice(1));
    await stream.close();
  });

  it("reads the log for what the in-memory window lacks, then continues from memory", async () => {
    const ids = await publishMany("t15", 12);
    // Pretend the window only holds the last 4 events, as after 15 minutes of traffic.
    await runInDurableObject(stub("t15"), (obj: DashboardObject) => {
      const o = (obj as unknown as { history: { window: RecentWindow; windowLoad: unknown } }).history;
      o.window.entries = o.window.entries.slice(-4);
      o.window.coveredAfter = parseEventId(ids[7]);
      o.windowLoad = Promise.resolve(); // loaded already: do not refill from the log
    });
    const stream = await openStream("/api/dashboards/t15/events", { "Last-Event-ID": ids[2]! });
    expect((await stream.waitFor(9)).map((e) => e.id)).toEqual(ids.slice(3));
    await sleep(50);
    expect(stream.events).toHaveLength(9);
    await stream.close();
  });

  it("never repeats or skips while events are published during catch-up", async () => {
    const ids = await publishMany("t14", 10);
    await evictDurableObject(stub("t14"));
    const racing = publishMany("t14", 10);
    const stream = await openStream("/api/dashboards/t14/events", { "Last-Event-ID": ids[4]! });
    const more = await racing;
    const all = [...ids.slice(5), ...more];
    expect((await stream.waitFor(all.length)).map((e) => e.id)).toEqual(all);
    await sleep(100);
    expect(stream.events).toHaveLength(all.length);
    await stream.close();
  });
});

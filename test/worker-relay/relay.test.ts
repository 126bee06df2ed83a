// Relay fan-out (RELAYS_PER_DASHBOARD=3, STREAMS_PER_RELAY=16 in this project): viewers are
// spread over relay objects, each event is pushed once per relay, and nothing is lost or
// repeated when a push is lost or either object restarts.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ApiError, DashboardStats } from "../../contract/index.ts";
import type { RecentWindow } from "../../durable-objects/streams/recent-window.ts";
import type { StreamOpen } from "../../core/rpc.ts";
import { getJson, openStream, publishMany, sleep, streamOf, stub } from "../worker/helpers.ts";
import { directViewers, losePushes, openOnRelay, relay, relayState, restart } from "./helpers.ts";

const ids = (events: { id?: string }[]) => events.map((e) => e.id);

describe("relay fan-out", () => {
  it("spreads viewers over the relays, and every viewer on every relay gets every event in order", async () => {
    const streams = await Promise.all(
      Array.from({ length: 18 }, (_, i) => openStream(`/api/dashboards/t23/events?history=0${i % 3 === 0 ? "&metrics=cpu" : ""}`)),
    );
    const published = await publishMany("t23", 12);
    for (const s of streams) expect(ids(await s.waitFor(12))).toEqual(published);
    // Filtered viewers got the narrowed frames.
    expect(Object.keys(JSON.parse(streams[0]!.events[0]!.data))).toEqual(["cpu", "timestamp"]);
    expect(Object.keys(JSON.parse(streams[1]!.events[0]!.data))).toHaveLength(6);

    const perRelay = await Promise.all([0, 1, 2].map(async (i) => (await relayState("t23", i)).viewers));
    expect(perRelay.reduce((a, b) => a + b, 0)).toBe(18);
    expect(perRelay.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    expect(await directViewers("t23")).toBe(0); // the dashboard object holds none itself

    const { body } = await getJson<DashboardStats>("/api/dashboards/t23/stats");
    expect(body.connectedClients).toBe(18);
    expect(body.relays).toBe(perRelay.filter((n) => n > 0).length);
    expect(body.eventsDelivered).toBe(18 * 12);
    await Promise.all(streams.map((s) => s.close()));
  });

  it("heals a lost push: from the next push's prevId, or at the next heartbeat when none follows", async () => {
    const stream = await openStream("/api/dashboards/t24/events?history=0");
    const first = await publishMany("t24", 2);
    await stream.waitFor(2);

    // One lost push and nothing after it: the relay learns of it when it re-subscribes.
    let lost = 0;
    await losePushes("t24", () => lost++ === 0);
    const alone = await publishMany("t24", 1);
    expect(ids(await stream.waitFor(3, 4000))).toEqual([...first, ...alone]);

    // Another lost push, then one that names it as its prevId: healed at once.
    lost = 0;
    const [missing, ...after] = await publishMany("t24", 3);
    expect(ids(await stream.waitFor(6, 1000))).toEqual([...first, ...alone, missing, ...after]);
    await sleep(100);
    expect(stream.events).toHaveLength(6); // nothing twice
    await stream.close();
  });

  it("keeps relay viewers fed after the dashboard object restarts (relays re-subscribe)", async () => {
    const streams = await Promise.all(Array.from({ length: 6 }, () => openStream("/api/dashboards/t25/events?history=0")));
    const before = await publishMany("t25", 3);
    for (const s of streams) await s.waitFor(3);
    await restart(stub("t25"));
    const after = await publishMany("t25", 3); // the new instance knows no relays yet
    const later = await publishMany("t25", 2);
    for (const s of streams) expect(ids(await s.waitFor(8, 5000))).toEqual([...before, ...after, ...later]);
    await sleep(100);
    for (const s of streams) expect(s.events).toHaveLength(8);
    const { body } = await getJson<DashboardStats>("/api/dashboards/t25/stats");
    expect(body.connectedClients).toBe(6);
    await Promise.all(streams.map((s) => s.close()));
  });

  it("loses nothing when a relay restarts: its viewers resume by id on any relay", async () => {
    const stream = await openStream("/api/dashboards/t26/events?history=0");
    const seen = await publishMany("t26", 3);
    await stream.waitFor(3);
    for (const i of [0, 1, 2]) await restart(relay("t26", i));
    expect(await stream.ended).toBe("error");
    const missed = await publishMany("t26", 2);
    const again = await openStream("/api/dashboards/t26/events?history=0", { "Last-Event-ID": seen[2]! });
    const live = await publishMany("t26", 2);
    expect(ids(await again.waitFor(4))).toEqual([...missed, ...live]);
    await sleep(100);
    expect(again.events).toHaveLength(4);
    await again.close();
  });

  it("serves a viewer resuming from an id its relay has not received yet: it waits for it, no gap, no repeat", async () => {
    const first = await openOnRelay("t27", 0); // relay 0 is now subscribed and in sync
    const base = await publishMany("t27", 1);
    await first.waitFor(1);
    let losing = true;
    await losePushes("t27", () => losing);
    const [a, b] = await publishMany("t27", 2); // relay 0 does not hear of these (yet)
    const resumed = await openOnRelay("t27", 0, "history=0", { "Last-Event-ID": a! });
    expect(ids(await resumed.waitFor(1, 3000))).toEqual([b]);
    expect(ids(await first.waitFor(3, 3000))).toEqual([...base, a, b]);
    losing = false;
    const [c] = await publishMany("t27", 1);
    expect(ids(await resumed.waitFor(2))).toEqual([b, c]);
    expect(ids(await first.waitFor(4))).toEqual([...base, a, b, c]);
    await sleep(100);
    expect(resumed.events).toHaveLength(2);
    expect(first.events).toHaveLength(4);
    await Promise.all([first.close(), resumed.close()]);
  });

  it("serves history and resume from the relay's window, and older ids through the dashboard", async () => {
    const published = await publishMany("t28", 6);
    const warm = await openOnRelay("t28", 1, "history=60");
    expect(ids(await warm.waitFor(6))).toEqual(published);
    // Pretend the relay's window starts at the fourth event: an older id goes to the dashboard.
    await runInDurableObject(relay("t28", 1), (obj) => {
      const o = obj as unknown as { window: RecentWindow };
      o.window.entries = o.window.entries.slice(3);
      o.window.coveredAfter = { ms: Number(published[2]!.split("-")[0]), seq: Number(published[2]!.split("-")[1]) };
    });
    const fromWindow = await openOnRelay("t28", 1, "history=0", { "Last-Event-ID": published[3]! });
    expect(ids(await fromWindow.waitFor(2))).toEqual(published.slice(4));
    const older = await openOnRelay("t28", 1, "history=0", { "Last-Event-ID": published[0]! });
    expect(ids(await older.waitFor(5))).toEqual(published.slice(1));
    const unknown = await openOnRelay("t28", 1, "history=60", { "Last-Event-ID": "9999999999999-0" });
    const [gap, ...rest] = await unknown.waitFor(7);
    expect(gap!.event).toBe("gap");
    expect(ids(rest)).toEqual(published);
    const live = await publishMany("t28", 1);
    for (const [s, n] of [
      [fromWindow, 3],
      [older, 6],
      [unknown, 8],
    ] as const) {
      expect((await s.waitFor(n)).at(-1)!.id).toBe(live[0]);
    }
    await sleep(100);
    expect([fromWindow.events.length, older.events.length, unknown.events.length]).toEqual([3, 6, 8]);
    await Promise.all([warm, fromWindow, older, unknown].map((s) => s.close()));
  });

  it("caps each relay at STREAMS_PER_RELAY: past 3 × 16 streams a 503 with Retry-After, the others untouched", async () => {
    const streams = await Promise.all(Array.from({ length: 48 }, () => openStream("/api/dashboards/t29/events?history=0")));
    for (const i of [0, 1, 2]) expect((await relayState("t29", i)).viewers).toBe(16);
    const refused = await SELF.fetch("https://dash.test/api/dashboards/t29/events?history=0");
    expect(refused.status).toBe(503);
    expect(refused.headers.get("content-type")).toMatch(/^application\/json/);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(10);
    const body = (await refused.json()) as ApiError;
    expect(body.error).toBe("too_many_streams");
    expect(body.message).toContain("relay");
    const published = await publishMany("t29", 2);
    for (const s of streams) expect(ids(await s.waitFor(2))).toEqual(published);
    await Promise.all(streams.map((s) => s.close()));
  });

  it("stops when its last viewer leaves: unsubscribed, no state, and the dashboard stops pushing", async () => {
    const stream = await openOnRelay("t30", 2);
    await publishMany("t30", 1);
    await stream.waitFor(1);
    expect((await relayState("t30", 2)).synced).toBe(true);
    await stream.close();
    let state = await relayState("t30", 2);
    for (let i = 0; i < 50 && state.session !== null; i++) {
      await sleep(20);
      state = await relayState("t30", 2);
    }
    expect(state).toEqual({ session: null, synced: false, viewers: 0 });
    let relays = 1;
    for (let i = 0; i < 50 && relays !== 0; i++) {
      await sleep(20);
      relays = (await getJson<DashboardStats>("/api/dashboards/t30/stats")).body.relays;
    }
    expect(relays).toBe(0);
  });

  it("takes its name from the Worker's stream request where the runtime gives none (a relay reached through wrangler's dev registry)", async () => {
    // An id rebuilt from its string carries no name, as an object in another local session sees it.
    const nameless = env.RELAY.get(env.RELAY.idFromString(env.RELAY.idFromName("t40:0").toString()));
    const open: StreamOpen = { filter: null, historySeconds: 0, resumeId: null };
    // A caller that names no relay (the name is required by the type; an old Worker would not send it).
    // (Wrapped: an RPC promise is also callable, and `rejects` would call it.)
    await expect(Promise.resolve(nameless.openStream({ ...open, relay: undefined as unknown as string }))).rejects.toThrow(
      /relay objects are named <dashboard>:<i>, got undefined/,
    );
    const stream = await streamOf(await nameless.openStream({ ...open, relay: "t40:0" }), "nameless relay t40:0");
    const published = await publishMany("t40", 3);
    expect(ids(await stream.waitFor(3))).toEqual(published);
    const stats = await getJson<DashboardStats>("/api/dashboards/t40/stats");
    expect(stats.body.relays).toBe(1);
    await stream.close();
  });
});

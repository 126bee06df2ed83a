import { createParser, type EventSourceMessage } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import type { DashboardStats } from "../../contract/index.ts";
import { getJson, openStream, sample, SELF_fetch, sleep, stub } from "./helpers.ts";

describe("slow consumer", () => {
  it("is bounded, loses its oldest metrics, gets cut when stuck, and never holds up the others", async () => {
    const late = await SELF_fetch("/api/dashboards/t21/events?history=0"); // reads only after the burst
    const stalled = await SELF_fetch("/api/dashboards/t21/events?history=0"); // never reads
    const readers = await Promise.all([1, 2, 3].map(() => openStream("/api/dashboards/t21/events?history=0")));
    const ids: string[] = [];
    for (let batch = 0; batch < 40; batch++) {
      const samples = Array.from({ length: 100 }, (_, i) => sample({ rps: batch * 100 + i }));
      ids.push(...(await stub("t21").publish({ samples })).ids);
    }
    for (const r of readers) expect((await r.waitFor(ids.length, 15_000)).map((e) => e.id)).toEqual(ids);

    // The late reader gets whole frames in order, with metrics missing from the middle.
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) });
    const reader = late.body!.getReader();
    const decoder = new TextDecoder();
    while (events.at(-1)?.id !== ids.at(-1)) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    const got = events.map((e) => e.id!);
    expect(got.at(-1)).toBe(ids.at(-1)); // the newest survive
    expect(got.length).toBeLessThan(ids.length); // the oldest queued ones were dropped
    expect(got.length).toBeGreaterThan(100);
    let at = -1;
    for (const id of got) {
      const index = ids.indexOf(id);
      expect(index).toBeGreaterThan(at); // a subsequence of what was published: in order, no repeats
      at = index;
    }
    await reader.cancel();

    // Two heartbeat intervals (1 s in tests) without draining: the stalled stream is cut.
    let stats: DashboardStats | undefined;
    for (let i = 0; i < 40 && stats?.connectedClients !== 3; i++) {
      await sleep(100);
      stats = (await getJson<DashboardStats>("/api/dashboards/t21/stats")).body;
    }
    expect(stats!.connectedClients).toBe(3);
    // It was cut, not closed politely: after what was already in flight, the read fails.
    const stalledReader = stalled.body!.getReader();
    const drain = async () => {
      for (;;) if ((await stalledReader.read()).done) return "ended cleanly";
    };
    await expect(drain()).rejects.toThrow();
    await Promise.all(readers.map((r) => r.close()));
  });
});

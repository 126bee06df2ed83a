// A viewer that stops reading, among viewers that read, through the whole Worker → object path.
// What a lagging viewer keeps and loses frame by frame is in stream-client.test.ts, with a
// hand-driven clock; here the point is the effect on everyone else and on the viewer's resume.
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import type { DashboardStats } from "../../contract/index.ts";
import { getJson, openStream, sample, SELF_fetch, sleep, stub } from "./helpers.ts";

/** Fails with `what` instead of hanging until the test's own timeout. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** A viewer that reads only when told to. */
function viewer(body: ReadableStream<Uint8Array>) {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e) });
  const reader = body.getReader();
  const decoder = new TextDecoder();
  return {
    events,
    /** Reads until `count` events have arrived. */
    async readUntil(count: number) {
      while (events.length < count) {
        const { done, value } = await reader.read();
        if (done) throw new Error("ended");
        parser.feed(decoder.decode(value, { stream: true }));
      }
    },
    /** Reads what is left until the stream ends; resolves to the error if it was cut. */
    async readToEnd(): Promise<unknown> {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return undefined;
          parser.feed(decoder.decode(value, { stream: true }));
        }
      } catch (err) {
        return err ?? new Error("cut");
      }
    },
  };
}

describe("slow consumer", () => {
  // Heartbeats are 1 s in tests, so a stream that takes nothing for 2 s is stuck.
  it("is cut when it stops reading, resumes by id without a gap, and never holds up the others", { timeout: 60_000 }, async () => {
    const stalled = viewer((await SELF_fetch("/api/dashboards/t21/events?history=0")).body!);
    const readers = await Promise.all([1, 2, 3].map(() => openStream("/api/dashboards/t21/events?history=0")));
    // The stalled viewer sees the first update, then stops reading.
    const [first] = await stub("t21")
      .publish({ samples: [sample()] })
      .then((r) => r.ids);
    await within(5_000, "first event", stalled.readUntil(1));

    // A burst of 6,000 metric updates (≈ 1.2 MB), far more than one stream may hold.
    const ids: string[] = [first!];
    for (let batch = 0; batch < 60; batch++) {
      const samples = Array.from({ length: 100 }, (_, i) => sample({ rps: batch * 100 + i }));
      ids.push(...(await stub("t21").publish({ samples })).ids);
    }
    for (const r of readers) expect((await r.waitFor(ids.length, 20_000)).map((e) => e.id)).toEqual(ids);

    // Two heartbeats later the stalled stream is gone; the readers are all still there.
    let stats: DashboardStats | undefined;
    for (let i = 0; i < 100 && stats?.connectedClients !== 3; i++) {
      await sleep(100);
      stats = (await getJson<DashboardStats>("/api/dashboards/t21/stats")).body;
    }
    expect(stats!.connectedClients).toBe(3);
    for (const r of readers) expect(await Promise.race([r.ended, sleep(0).then(() => "open")])).toBe("open");

    // It was cut, not closed politely: the read fails, as a dropped connection does for
    // EventSource, and whatever arrived before that came as whole frames, oldest first.
    expect(await within(10_000, "stalled viewer", stalled.readToEnd())).toBeDefined();
    const got = stalled.events.map((e) => e.id!);
    expect(got.length).toBeLessThan(ids.length);
    expect(got).toEqual(ids.slice(0, got.length));

    // Its browser reconnects with the last id it saw and gets exactly the rest.
    const resumed = await openStream("/api/dashboards/t21/events?history=0", { "Last-Event-ID": got.at(-1)! });
    const rest = ids.slice(got.length);
    expect((await resumed.waitFor(rest.length, 20_000)).map((e) => e.id)).toEqual(rest);
    expect(resumed.events.filter((e) => e.event !== "metric-update")).toEqual([]);
    await Promise.all([...readers, resumed].map((r) => r.close()));
  });
});

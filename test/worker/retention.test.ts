import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import type { Config } from "../../core/config/index.ts";
import { committed, openStream, publishMany, sleep, stub } from "./helpers.ts";

describe("retention", () => {
  it("is enforced by the object itself: old events are trimmed, and resuming from one says so", async () => {
    // One second of retention instead of an hour, and a trim due now.
    await runInDurableObject(stub("t22"), (obj: DashboardObject) => {
      const o = obj as unknown as { config: Config; appends: { lastTrimAt: number } };
      o.config = { ...o.config, retentionSeconds: 1 };
      o.appends.lastTrimAt = 0;
    });
    const old = await publishMany("t22", 2); // trims at this publish, then not again for a minute
    await sleep(1100);
    await runInDurableObject(stub("t22"), (obj: DashboardObject) => {
      (obj as unknown as { appends: { lastTrimAt: number } }).appends.lastTrimAt = 0;
    });
    const kept = await publishMany("t22", 2);
    // With a remote log a publish returns once its outbox is durable; wait for the append and
    // the trim that follows it.
    await committed("t22");
    const stream = await openStream("/api/dashboards/t22/events", { "Last-Event-ID": old[0]! });
    const [gap, ...rest] = await stream.waitFor(3);
    expect(gap!.event).toBe("gap");
    expect(JSON.parse(gap!.data).oldestId).toBe(old[1]);
    expect(rest.map((e) => e.id)).toEqual(kept);
    // History is clamped to retention as well: the trimmed events are gone from it.
    const history = await openStream("/api/dashboards/t22/events?history=3600");
    expect((await history.waitFor(2)).map((e) => e.id)).toEqual(kept);
    await Promise.all([stream.close(), history.close()]);
  });
});

// What a relay holds while it syncs or heals: bounded by count and by bytes, newest kept.
import { describe, expect, it } from "vitest";
import type { DeliverBatch } from "../../core/rpc.ts";
import { PushQueue } from "../../durable-objects/relay/push-queue.ts";

const batch = (i: number, bytes: number): DeliverBatch => ({
  prevId: i === 0 ? null : `${i - 1}-0`,
  entries: [{ id: `${i}-0`, event: "log", data: "x".repeat(bytes) }],
});

describe("a relay's queued pushes", () => {
  it("keep the newest within the byte cap, in order, and empty on take", () => {
    const queue = new PushQueue(256, 8 * 1024 * 1024);
    for (let i = 0; i < 40; i++) queue.push(batch(i, 1024 * 1024)); // 40 MiB of log lines
    const kept = queue.take().map((b) => b.entries[0]!.id);
    expect(kept).toEqual(Array.from({ length: 8 }, (_, k) => `${32 + k}-0`));
    expect(queue.length).toBe(0);
  });

  it("keep at most the count cap, and always the newest push however large", () => {
    const queue = new PushQueue(3, 100);
    for (let i = 0; i < 5; i++) queue.push(batch(i, 10));
    expect(queue.take().map((b) => b.entries[0]!.id)).toEqual(["2-0", "3-0", "4-0"]);
    queue.push(batch(9, 1000));
    expect(queue.take().map((b) => b.entries[0]!.id)).toEqual(["9-0"]);
  });
});

// One viewer's stream on its own, with a hand-driven clock: what a viewer that falls behind,
// reads slowly or stops reading actually receives.
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import { encodeFrame, HEARTBEAT } from "../../durable-objects/streams/sse.ts";
import { MAX_PENDING_BYTES, STREAM_HIGH_WATER_BYTES, StreamClient } from "../../durable-objects/streams/stream-client.ts";

const STUCK_MS = 2000;
const first = encodeFrame({ data: "hello" });
// Fixed-width ids, so every frame has the same size.
const id = (n: number) => `1000-${String(n).padStart(4, "0")}`;
const metric = (n: number) => encodeFrame({ id: id(n), event: "metric-update", data: JSON.stringify({ pad: "x".repeat(150) }) });
const alert = (n: number) => encodeFrame({ id: id(n), event: "alert", data: JSON.stringify({ pad: "x".repeat(150) }) });

function open() {
  const closed: StreamClient[] = [];
  const client = new StreamClient(null, first, STUCK_MS, (c) => closed.push(c));
  const reader = client.stream.getReader();
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e) });
  const decoder = new TextDecoder();
  let bytes = 0;
  const readOne = async () => {
    const { done, value } = await reader.read();
    if (done) return false;
    bytes += value.byteLength;
    parser.feed(decoder.decode(value, { stream: true }));
    return true;
  };
  /** Reads until an event with `id` arrives. */
  const readUntil = async (id: string) => {
    while (events.at(-1)?.id !== id) if (!(await readOne())) throw new Error(`ended before ${id}`);
  };
  return { client, reader, events, readOne, readUntil, closed, received: () => bytes };
}

const ids = (events: EventSourceMessage[]) => events.filter((e) => e.id).map((e) => Number(e.id!.split("-")[1]));

const logLine = (n: number) => encodeFrame({ id: id(n), event: "log", data: JSON.stringify({ level: "info", message: "x".repeat(150) }) });

describe("one viewer's stream", () => {
  it("reports the log lines it had to drop in one log-dropped event, where they went missing", async () => {
    const s = open();
    const published = 2000;
    for (let n = 0; n < published; n++) s.client.write(logLine(n), true, 1);
    expect(s.client.dropped).toBeGreaterThan(0);
    await s.readUntil(id(published - 1));
    const got = ids(s.events);
    const notices = s.events.filter((e) => e.event === "log-dropped");
    // One notice, no id (it is this viewer's, not the dashboard's), counting exactly the lines lost.
    expect(notices).toHaveLength(1);
    expect(notices[0]!.id).toBeUndefined();
    const { count, message } = JSON.parse(notices[0]!.data) as { count: number; message: string };
    expect(count).toBe(published - got.length);
    expect(message).toBe(`${count} log lines dropped: this viewer fell behind`);
    // It sits right before the first line after the hole.
    const at = s.events.indexOf(notices[0]!);
    const before = Number(s.events[at - 1]!.id!.split("-")[1]);
    const after = Number(s.events[at + 1]!.id!.split("-")[1]);
    expect(after - before - 1).toBe(count);
  });

  it("holds a bounded amount for a viewer that is not reading, losing its oldest metric updates", async () => {
    const s = open();
    const frameBytes = metric(0).byteLength;
    const published = 2000; // ≈ 400 KB, far beyond both buffers
    for (let n = 0; n < published; n++) s.client.write(metric(n), true);
    expect(s.client.dropped).toBeGreaterThan(0);
    await s.readUntil(id(published - 1));
    const got = ids(s.events);
    // In order, no repeats, whole frames, ending with the newest; the middle is what was lost.
    for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1]!);
    expect(got.at(-1)).toBe(published - 1);
    expect(got.length).toBe(published - s.client.dropped);
    expect(s.received()).toBeLessThanOrEqual(first.byteLength + STREAM_HIGH_WATER_BYTES + MAX_PENDING_BYTES + 2 * frameBytes);
    expect(got[0]).toBe(0); // what the runtime already held is delivered, not dropped
    expect(got.some((n, i) => n !== i)).toBe(true);
  });

  it("never drops alerts or history: a viewer that cannot take them is cut instead", async () => {
    const s = open();
    let n = 0;
    while (!s.client.closed && n < 5000) s.client.write(alert(n++), false);
    expect(s.client.closed).toBe(true);
    expect(s.closed).toEqual([s.client]);
    expect(s.client.dropped).toBe(0);
    await expect(
      (async () => {
        while (await s.readOne());
      })(),
    ).rejects.toThrow("stream buffer full");
    // Every alert received arrived whole and in order, with nothing skipped.
    const got = ids(s.events);
    expect(got).toEqual(got.map((_, i) => i));
  });

  it("is cut after two heartbeats without reading, but not while it keeps reading", async () => {
    const s = open();
    const before = Date.now();
    for (let n = 0; n < 1000; n++) s.client.write(metric(n), true); // behind: frames are queued
    s.client.tick(HEARTBEAT, before + STUCK_MS - 1);
    expect(s.client.closed).toBe(false);

    // Reading a little, later: still far behind, but making progress, so the clock starts again.
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 20; i++) await s.readOne();
    const progressAt = before + STUCK_MS + 10;
    s.client.tick(HEARTBEAT, progressAt);
    expect(s.client.closed).toBe(false);
    s.client.tick(HEARTBEAT, progressAt + STUCK_MS - 1);
    expect(s.client.closed).toBe(false);

    // Then it stops reading: cut, abruptly (what is queued is not flushed first).
    s.client.tick(HEARTBEAT, progressAt + STUCK_MS);
    expect(s.client.closed).toBe(true);
    expect(s.closed).toEqual([s.client]);
    await expect(
      (async () => {
        while (await s.readOne());
      })(),
    ).rejects.toThrow("slow consumer");
    expect(ids(s.events).at(-1)).toBeLessThan(999);
  });

  it("sends heartbeats only when nothing is queued, so they never push frames out", async () => {
    const idle = open();
    idle.client.tick(HEARTBEAT, Date.now());
    await idle.readOne(); // the first frame
    await idle.readOne();
    expect(new TextDecoder().decode(HEARTBEAT)).toMatch(/^:/);
    expect(idle.received()).toBe(first.byteLength + HEARTBEAT.byteLength);

    const busy = open();
    for (let n = 0; n < 1000; n++) busy.client.write(metric(n), true);
    const dropped = busy.client.dropped;
    busy.client.tick(HEARTBEAT, Date.now());
    expect(busy.client.dropped).toBe(dropped);
    await busy.readUntil(id(999));
    expect(busy.received()).toBe(first.byteLength + (1000 - dropped) * metric(0).byteLength);
  });
});

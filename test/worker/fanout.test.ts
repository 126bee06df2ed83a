import { describe, expect, it } from "vitest";
import { compareEventIds, parseEventId } from "../../contract/index.ts";
import { getJson, openStream, publishMany, sleep } from "./helpers.ts";

describe("fan-out", () => {
  it("delivers every event, in order, to each of many concurrent streams", async () => {
    const streams = await Promise.all(Array.from({ length: 40 }, () => openStream("/api/dashboards/t4/events?history=0")));
    const ids = await publishMany("t4", 25);
    for (const stream of streams) {
      const events = await stream.waitFor(25);
      expect(events.map((e) => e.id)).toEqual(ids);
    }
    // Ids are strictly increasing.
    for (let i = 1; i < ids.length; i++) {
      expect(compareEventIds(parseEventId(ids[i - 1])!, parseEventId(ids[i])!)).toBeLessThan(0);
    }
    const { body } = await getJson<{ connectedClients: number; eventsDelivered: number; eventsPublished: number }>(
      "/api/dashboards/t4/stats",
    );
    expect(body.connectedClients).toBe(40);
    expect(body.eventsPublished).toBe(25);
    expect(body.eventsDelivered).toBe(40 * 25);
    await Promise.all(streams.map((s) => s.close()));
  });

  it("forgets a viewer as soon as it disconnects", async () => {
    const a = await openStream("/api/dashboards/t5/events?history=0");
    const b = await openStream("/api/dashboards/t5/events?history=0");
    expect((await getJson<{ connectedClients: number }>("/api/dashboards/t5/stats")).body.connectedClients).toBe(2);
    await a.close();
    let connected = 2;
    // With relays (workers-relay) the counts are the relays' reports, asked at most every 3 s.
    for (let i = 0; i < 250 && connected !== 1; i++) {
      await sleep(20);
      connected = (await getJson<{ connectedClients: number }>("/api/dashboards/t5/stats")).body.connectedClients;
    }
    expect(connected).toBe(1);
    const ids = await publishMany("t5", 3);
    expect((await b.waitFor(3)).map((e) => e.id)).toEqual(ids);
    await b.close();
  });
});

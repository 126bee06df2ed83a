import { describe, expect, it } from "vitest";
import { openStream, publish, sample } from "./helpers.ts";

describe("SSE stream on the wire", () => {
  it("sends headers, a retry line first, then each event as id/event/data bytes", async () => {
    const stream = await openStream("/api/dashboards/t1/events?history=0");
    expect(stream.response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(stream.response.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(stream.response.headers.get("x-accel-buffering")).toBe("no");
    await stream.waitForRaw((raw) => raw.includes("\n\n"));
    expect(stream.raw()).toMatch(/^retry: \d{4}\n\n$/);
    const retry = Number(/^retry: (\d+)/.exec(stream.raw())![1]);
    expect(retry).toBeGreaterThanOrEqual(2000);
    expect(retry).toBeLessThan(4000);

    const s = sample({ cpu: 12.3 });
    const [id] = await publish("t1", s);
    await stream.waitFor(1);
    expect(stream.raw()).toBe(`retry: ${retry}\n\nid: ${id}\nevent: metric-update\ndata: ${JSON.stringify(s)}\n\n`);
    expect(id).toMatch(/^\d{13}-\d+$/);
    await stream.close();
  });
});

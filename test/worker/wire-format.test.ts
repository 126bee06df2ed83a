import { createParser, type EventSourceMessage } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import { encodeFrame, frameText, HEARTBEAT, retryFrame } from "../../durable-objects/streams/sse.ts";
import { openStream, publish, sample } from "./helpers.ts";

function parse(text: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e) });
  parser.feed(text);
  return events;
}

describe("frame encoding", () => {
  it("writes id, event and data fields in order, ended by a blank line", () => {
    expect(new TextDecoder().decode(encodeFrame({ id: "1-0", event: "alert", data: '{"a":1}' }))).toBe(
      'id: 1-0\nevent: alert\ndata: {"a":1}\n\n',
    );
    expect(new TextDecoder().decode(retryFrame(2500))).toBe("retry: 2500\n\n");
    expect(new TextDecoder().decode(HEARTBEAT)).toBe(": heartbeat\n\n");
  });

  it("splits multi-line data on LF, CRLF and CR into data lines that parse back to the same text", () => {
    const data = "line one\nline two\r\nline three\rline four";
    expect(frameText({ id: "5-1", event: "note", data })).toBe(
      "id: 5-1\nevent: note\ndata: line one\ndata: line two\ndata: line three\ndata: line four\n\n",
    );
    const [event] = parse(frameText({ id: "5-1", event: "note", data }));
    expect(event!.data).toBe("line one\nline two\nline three\nline four");
  });

  it("keeps a JSON payload whose strings hold CR/LF and field-like text inside one frame", () => {
    const payload = { message: "evil\r\n\r\nid: 9-9\nevent: alert\ndata: x", emoji: "🔥", sep: "\u2028" };
    const text = frameText({ id: "7-0", event: "alert", data: JSON.stringify(payload) });
    const events = parse(text + frameText({ id: "7-1", event: "alert", data: "{}" }));
    expect(events).toHaveLength(2);
    expect(events[0]!.id).toBe("7-0");
    expect(JSON.parse(events[0]!.data)).toEqual(payload);
    expect(events[1]!.id).toBe("7-1");
  });

  it("refuses ids and event names that would break the frame", () => {
    expect(() => encodeFrame({ id: "1\n2", data: "x" })).toThrow(TypeError);
    expect(() => encodeFrame({ event: "a\rb", data: "x" })).toThrow(TypeError);
    expect(() => encodeFrame({ id: "1\u00002", data: "x" })).toThrow(TypeError);
  });
});

describe("stream bytes", () => {
  it("sends a heartbeat comment on an idle stream (1 s in tests, 15 s by default)", async () => {
    const stream = await openStream("/api/dashboards/t2/events?history=0");
    const raw = await stream.waitForRaw((r) => r.includes(": heartbeat\n\n"), 3000);
    expect(raw).toMatch(/^retry: \d+\n\n(: heartbeat\n\n)+$/);
    await stream.close();
  });

  it("sends metric updates and alerts as JSON the contract describes", async () => {
    const stream = await openStream("/api/dashboards/t3/events?history=0");
    const hot = sample({ cpu: 93.4 });
    const ids = await publish("t3", hot);
    const [metric, alert] = await stream.waitFor(2);
    expect(ids).toHaveLength(2);
    expect(metric).toMatchObject({ id: ids[0], event: "metric-update" });
    expect(JSON.parse(metric!.data)).toEqual(hot);
    expect(alert).toMatchObject({ id: ids[1], event: "alert" });
    expect(JSON.parse(alert!.data)).toEqual({
      level: "critical",
      metric: "cpu",
      value: 93.4,
      threshold: 90,
      message: "CPU 93.4% is above critical threshold 90%",
      timestamp: hot.timestamp,
    });
    await stream.close();
  });
});

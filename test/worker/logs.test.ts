// Log lines: ingest rules, level filters, the dashboard's log rate, resume with metrics and logs
// interleaved, and hostile content that must never break a frame or forge an event.
import { abortAllDurableObjects, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ApiError, LogIngestResult, LogLine } from "../../contract/index.ts";
import { committed, openStream, sample, sleep, stub } from "./helpers.ts";

const TOKEN = "test-ingest-token-0123456789";

function pushLogs(dashboard: string, body: unknown, raw?: BodyInit) {
  return SELF.fetch(`https://dash.test/api/dashboards/${dashboard}/logs`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: raw ?? JSON.stringify(body),
  });
}

const LEVELS = ["debug", "info", "warn", "error", "fatal"] as const;

describe("log ingest: POST /api/dashboards/:id/logs", () => {
  it("accepts one line or many, 202 with their ids, and viewers get them as `log` events in order", async () => {
    const stream = await openStream("/api/dashboards/t35/events?history=0");
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 3000).toISOString();
    const one = await pushLogs("t35", {
      level: "warn",
      message: "disk 91% full",
      attributes: { host: "web-1", pct: 91, ok: false },
      timestamp: at,
    });
    expect(one.status).toBe(202);
    const many = await pushLogs("t35", [
      { level: "info", message: "a" },
      { level: "error", message: "b" },
    ]);
    const ids = [...((await one.json()) as LogIngestResult).ids, ...((await many.json()) as LogIngestResult).ids];
    expect(ids).toHaveLength(3);
    const events = await stream.waitFor(3);
    expect(events.map((e) => [e.id, e.event])).toEqual(ids.map((id) => [id, "log"]));
    expect(events[0]!.data).toBe(
      `{"level":"warn","message":"disk 91% full","attributes":{"host":"web-1","pct":91,"ok":false},"timestamp":"${at}"}`,
    );
    await stream.close();
  });

  it.each([
    [{ level: "verbose", message: "x" }, "level: must be one of debug, info, warn, error, fatal"],
    [{ message: "x" }, "level: must be one of"],
    [{ level: "info" }, "message: must be text"],
    [{ level: "info", message: "" }, "message: must not be empty"],
    [{ level: "info", message: "é".repeat(4097) }, "message: longer than 8 KB of UTF-8"],
    [{ level: "info", message: "x", attributes: { nested: { a: 1 } } }, "attributes.nested: must be text, a number or a boolean"],
    [{ level: "info", message: "x", attributes: [1] }, "attributes: must be an object"],
    [
      { level: "info", message: "x", attributes: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) },
      "attributes: 33 attributes; at most 32",
    ],
    [{ level: "info", message: "x", host: "a" }, "host: unknown field"],
    [{ level: "info", message: "x", timestamp: "yesterday" }, "timestamp: must be an ISO 8601"],
    [{ level: "info", message: "x", timestamp: "2999-01-01T00:00:00Z" }, "timestamp: must not be more than 5 minutes in the future"],
    [
      [
        { level: "info", message: "ok" },
        { level: "info", message: 5 },
      ],
      "[1].message: must be text",
    ],
    [Array.from({ length: 501 }, () => ({ level: "info", message: "x" })), "501 lines in one request; send at most 500"],
    [[], "empty array"],
  ])("400 naming the problem for %j", async (body, message) => {
    const response = await pushLogs("t36", body);
    expect(response.status).toBe(400);
    const error = (await response.json()) as ApiError;
    expect(error.error).toBe("invalid_log");
    expect(error.message).toContain(message);
  });

  it("keeps an exactly 8 KB message and refuses non-JSON, other types and unauthenticated pushes", async () => {
    expect((await pushLogs("t36", { level: "info", message: "é".repeat(4096) })).status).toBe(202);
    expect((await pushLogs("t36", null, '{"level":')).status).toBe(400);
    const typed = await SELF.fetch("https://dash.test/api/dashboards/t36/logs", {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "text/plain" },
      body: "hi",
    });
    expect(typed.status).toBe(415);
    const anonymous = await SELF.fetch("https://dash.test/api/dashboards/t36/logs", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    expect(anonymous.status).toBe(401);
  });

  it("past the dashboard's log rate: 429 with Retry-After, and nothing of that request is published", async () => {
    const stream = await openStream("/api/dashboards/t37/events?history=0&logs=debug");
    const batch = (tag: string) => Array.from({ length: 500 }, (_, i) => ({ level: "debug", message: `${tag} ${i}` }));
    // The bucket holds 2,000 lines and refills at 200/s.
    for (const tag of ["a", "b", "c", "d"]) expect((await pushLogs("t37", batch(tag))).status).toBe(202);
    const refused = await pushLogs("t37", batch("e"));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as ApiError).message).toContain("nothing of this request was published");
    const ok = (await (await pushLogs("t37", { level: "info", message: "after" })).json()) as LogIngestResult;
    const events = await stream.waitFor(2001, 15_000);
    expect(events.at(-1)!.id).toBe(ok.ids[0]);
    expect(events.some((e) => e.data.includes('"e 0"'))).toBe(false);
    await stream.close();
  });
});

describe("log level filters", () => {
  it("default info and up; ?logs=warn; ?logs=debug; ?logs=none; with a metrics filter too", async () => {
    const streams = await Promise.all(
      ["", "&logs=warn", "&logs=debug", "&logs=none", "&metrics=cpu&logs=error"].map((q) =>
        openStream(`/api/dashboards/t38/events?history=0${q}`),
      ),
    );
    const lines = LEVELS.map((level) => ({ level, message: level }));
    await pushLogs("t38", lines);
    await stub("t38").publish({ samples: [sample()] }); // a marker every stream receives last
    const seen = await Promise.all(
      streams.map(async (s) => {
        const events = await s.waitForRaw((raw) => raw.includes("event: metric-update")).then(() => s.events);
        return events.filter((e) => e.event === "log").map((e) => (JSON.parse(e.data) as LogLine).level);
      }),
    );
    expect(seen).toEqual([["info", "warn", "error", "fatal"], ["warn", "error", "fatal"], [...LEVELS], [], ["error", "fatal"]]);
    await Promise.all(streams.map((s) => s.close()));
    const bad = await SELF.fetch("https://dash.test/api/dashboards/t38/events?logs=verbose");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ApiError).message).toBe('logs: must be one of debug, info, warn, error, fatal or none, got "verbose"');
  });
});

describe("logs and metrics on one stream", () => {
  it("resume across a restart with both interleaved: no gap, no duplicate", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(...(await stub("t39").publish({ samples: [sample({ rps: i })] })).ids);
      ids.push(...((await (await pushLogs("t39", { level: "info", message: `line ${i}` })).json()) as LogIngestResult).ids);
    }
    await committed("t39");
    const first = await openStream("/api/dashboards/t39/events?history=3600");
    const head = await first.waitFor(7);
    await first.close();
    await abortAllDurableObjects(); // a deploy
    for (let i = 10; i < 13; i++)
      ids.push(...((await (await pushLogs("t39", { level: "info", message: `line ${i}` })).json()) as LogIngestResult).ids);
    const resumed = await openStream("/api/dashboards/t39/events", { "Last-Event-ID": head.at(-1)!.id! });
    const rest = await resumed.waitFor(ids.length - 7);
    await sleep(100);
    expect([...head, ...resumed.events].map((e) => e.id)).toEqual(ids);
    expect(rest.map((e) => e.event).slice(0, 4)).toEqual(["log", "metric-update", "log", "metric-update"]);
    await resumed.close();
  });
});

describe("hostile log content", () => {
  it("CR/LF, control characters, ANSI escapes, NUL and invalid UTF-8 stay inside one data line and forge nothing", async () => {
    const stream = await openStream("/api/dashboards/t10/events?history=0");
    const evil = "a\r\n\r\nid: 9-9\nevent: alert\ndata: {}\n\n\u001b[31mred\u001b[0m\u0000\u0007\u2028\u2029\u0085end";
    const ok = await pushLogs("t10", { level: "error", message: evil, attributes: { "key\nid: 1-1": "v\r\nevent: x" } });
    expect(ok.status).toBe(202);
    // Raw bytes: 0xFF and a lone surrogate escape inside an otherwise valid body.
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"level":"info","message":"bad '),
      0xff,
      0xfe,
      ...new TextEncoder().encode(' \\ud800 bytes"}'),
    ]);
    const raw = await pushLogs("t10", null, bytes);
    expect(raw.status).toBe(202);
    const [a, b] = await stream.waitFor(2);
    await sleep(100);
    expect(stream.events).toHaveLength(2);
    expect(a!.event).toBe("log");
    expect((JSON.parse(a!.data) as LogLine).message).toBe(evil);
    expect((JSON.parse(a!.data) as LogLine).attributes).toEqual({ "key\nid: 1-1": "v\r\nevent: x" });
    expect((JSON.parse(b!.data) as LogLine).message).toBe("bad \ufffd\ufffd \ud800 bytes");
    // On the wire: every frame is exactly id, event and one data line, and no raw control byte.
    const frames = stream
      .raw()
      .split("\n\n")
      .filter((f) => f.startsWith("id: "));
    expect(frames).toHaveLength(2);
    for (const f of frames) {
      expect(f.split("\n").map((l) => l.split(":")[0])).toEqual(["id", "event", "data"]);
      // eslint-disable-next-line no-control-regex -- control characters are what it looks for
      expect(f).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    }
    await stream.close();
  });
});

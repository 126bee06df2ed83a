// The Upstash REST bridge against a real redis-server, driven by the real @upstash/redis
// client in its default (production) configuration: base64 response encoding, default
// retries, auto-pipelining. Needs redis-server at 127.0.0.1:6379 and on PATH.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Redis as Upstash } from "@upstash/redis";
import type { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstashBridge } from "../../tools/upstash-bridge/server.ts";
import { freePort } from "../../tools/free-port.ts";
import { connectRedis, deleteKeys, REDIS_URL } from "../setup/upstash-servers.ts";
import type { UpstashBridge } from "../../tools/upstash-bridge/server.ts";

const TOKEN = `test-token-${randomUUID()}`;
const prefix = `upstash-bridge-test:${randomUUID()}`;
const key = (name: string) => `${prefix}:${name}`;
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

let admin: IORedis;
let bridge: UpstashBridge;
let redis: Upstash;

/** A raw REST call, to check exactly what goes over the wire. */
async function rest(path: string, body: unknown, opts: { base64?: boolean; token?: string | null } = {}) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (opts.token !== null) headers.Authorization = `Bearer ${opts.token ?? TOKEN}`;
  if (opts.base64) headers["Upstash-Encoding"] = "base64";
  const res = await fetch(`${bridge.url}${path}`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, contentType: res.headers.get("content-type"), text: await res.text() };
}

beforeAll(async () => {
  admin = await connectRedis();
  bridge = await startUpstashBridge({ port: 0, token: TOKEN, redisUrl: REDIS_URL });
  // Exactly as in production: url + token, everything else default.
  redis = new Upstash({ url: bridge.url, token: TOKEN });
});

afterAll(async () => {
  await bridge?.close();
  if (admin?.status === "ready") await deleteKeys(admin, prefix);
  admin?.disconnect();
});

describe("single commands through @upstash/redis", () => {
  it("ping", async () => {
    expect(await redis.ping()).toBe("PONG");
  });

  it("round-trips non-ASCII and base64-looking strings byte for byte", async () => {
    const values = [
      "héllo wörld ✓ 🚀 日本語",
      "YmFy", // valid base64 itself: must come back as "YmFy", not "bar"
      "T0s=", // base64 of "OK"
      "OK", // the one reply Upstash leaves unencoded
      "PONG",
      "=+/==",
      '\u0000\u0001\u007f tab\t newline\n quote" backslash\\ ÿ',
    ];
    for (const [i, value] of values.entries()) {
      const k = key(`str:${i}`);
      expect(await redis.set(k, value)).toBe("OK");
      expect(await redis.get(k)).toBe(value);
      expect(await admin.getBuffer(k)).toEqual(Buffer.from(value, "utf8"));
    }
  });

  it("round-trips an object (the client stores JSON and parses it back)", async () => {
    const value = { name: "Zoë", tags: ["ü", "✓"], n: 1 };
    await redis.set(key("obj"), value);
    expect(await redis.get(key("obj"))).toEqual(value);
    expect(await admin.get(key("obj"))).toBe(JSON.stringify(value));
  });

  it("get of a missing key is null", async () => {
    expect(await redis.get(key("missing"))).toBeNull();
  });
});

describe("streams through @upstash/redis", () => {
  const s = key("stream");

  it("xadd with explicit ids and with *", async () => {
    expect(await redis.xadd(s, "1-1", { kind: "a", n: "1" })).toBe("1-1");
    expect(await redis.xadd(s, "1-2", { kind: "b", payload: '{"x":1}' })).toBe("1-2");
    expect(await redis.xadd(s, "2-0", { kind: "ü ✓" })).toBe("2-0");
    const auto = await redis.xadd(s, "*", { kind: "auto" });
    expect(auto).toMatch(/^\d+-\d+$/);
    expect(await redis.xlen(s)).toBe(4);
  });

  it("xadd with MAXLEN ~ / MINID ~ trimming is accepted", async () => {
    const t = key("trimmed");
    const a = await redis.xadd(t, "*", { v: "1" }, { trim: { type: "MAXLEN", comparison: "~", threshold: 1000 } });
    expect(a).toMatch(/^\d+-\d+$/);
    const b = await redis.xadd(t, "*", { v: "2" }, { trim: { type: "MINID", comparison: "~", threshold: "0-1" } });
    expect(b).toMatch(/^\d+-\d+$/);
    const c = await redis.xadd(t, "*", { v: "3" }, { trim: { type: "MAXLEN", comparison: "~", threshold: 1000, limit: 10 } });
    expect(c).toMatch(/^\d+-\d+$/);
    expect(await redis.xlen(t)).toBe(3);
  });

  it("xadd trimming options really reach redis (exact = trimming)", async () => {
    const t = key("trimmed-exact");
    for (const id of ["1-0", "2-0", "3-0", "4-0"]) await redis.xadd(t, id, { v: id });
    await redis.xadd(t, "5-0", { v: "5" }, { trim: { type: "MINID", comparison: "=", threshold: "3-0" } });
    expect(await redis.xlen(t)).toBe(3);
    await redis.xadd(t, "6-0", { v: "6" }, { trim: { type: "MAXLEN", comparison: "=", threshold: 2 } });
    expect(Object.keys(await redis.xrange(t, "-", "+"))).toEqual(["5-0", "6-0"]);
  });

  it("xrange with an exclusive start and COUNT", async () => {
    const page = await redis.xrange(s, "(1-1", "+", 2);
    // The client turns the reply into { id: { field: value } } and JSON.parses each value:
    // '{"x":1}' comes back as an object, "1" would come back as the number 1.
    expect(page).toEqual({ "1-2": { kind: "b", payload: { x: 1 } }, "2-0": { kind: "ü ✓" } });
    expect(Object.keys(page)).toEqual(["1-2", "2-0"]);
    expect(await redis.xrange(s, "(1-1", "+", 1)).toEqual({ "1-2": { kind: "b", payload: { x: 1 } } });
    expect(await redis.xrange(s, "(99999999999999-0", "+")).toEqual({});
  });

  it("xrevrange ... COUNT 1 returns the newest entry", async () => {
    const newest = await redis.xrevrange(s, "+", "-", 1);
    expect(Object.keys(newest)).toHaveLength(1);
    expect(Object.values(newest)[0]).toEqual({ kind: "auto" });
    const [id] = Object.keys(newest);
    expect(id).toMatch(/^\d+-\d+$/);
  });

  it("xlen", async () => {
    expect(await redis.xlen(s)).toBe(4);
    expect(await redis.xlen(key("no-stream"))).toBe(0);
  });

  it("xinfo GROUPS (the client's xinfo) and XINFO STREAM (via exec)", async () => {
    expect(await redis.xinfo(s, { type: "GROUPS" })).toEqual([]);
    expect(await redis.xgroup(s, { type: "CREATE", group: "readers", id: "0" })).toBe("OK");
    const groups = (await redis.xinfo(s, { type: "GROUPS" })) as unknown[][];
    expect(groups).toHaveLength(1);
    expect(groups[0].slice(0, 2)).toEqual(["name", "readers"]);

    // The client has no XINFO STREAM helper; exec sends the raw command. The reply is
    // RESP2-shaped: a flat [field, value, ...] list with nested entries.
    const info = (await redis.exec(["XINFO", "STREAM", s])) as unknown[];
    const fields = new Map<unknown, unknown>();
    for (let i = 0; i < info.length; i += 2) fields.set(info[i], info[i + 1]);
    expect(fields.get("length")).toBe(4);
    expect(fields.get("groups")).toBe(1);
    expect(fields.get("first-entry")).toEqual(["1-1", ["kind", "a", "n", 1]]);
  });
});

describe("pipeline and multi through @upstash/redis", () => {
  it("pipeline: every command runs; one failure makes exec() throw with Upstash's message", async () => {
    const k = key("pipe");
    const other = key("pipe-after");
    const failing = redis.pipeline().set(k, "text").incr(k).set(other, "ran").get(k);
    await expect(failing.exec()).rejects.toThrow(/Command 2 \[ incr \] failed: ERR value is not an integer/);
    // Not atomic and not stopped by the failure: the commands around it were applied.
    expect(await admin.get(other)).toBe("ran");

    const kept = await redis.pipeline().set(k, "text").incr(k).get(k).exec({ keepErrors: true });
    expect(kept[0]).toEqual({ error: undefined, result: "OK" });
    expect(kept[1].error).toMatch(/^ERR value is not an integer/);
    expect(kept[2]).toEqual({ error: undefined, result: "text" });

    expect(await redis.pipeline().set(k, "1").incr(k).get(k).exec()).toEqual(["OK", 2, 2]);
  });

  it("multi: a runtime error fails only its command; the others still run (Redis/Upstash semantics)", async () => {
    const k = key("multi");
    const other = key("multi-after");
    const tx = redis.multi().set(k, "v").hget(k, "field").set(other, "ran");
    await expect(tx.exec()).rejects.toThrow(/Command 2 \[ hget \] failed: WRONGTYPE/);
    expect(await admin.get(other)).toBe("ran");

    const kept = await redis.multi().set(k, "v").hget(k, "field").get(k).exec({ keepErrors: true });
    expect(kept[0]).toEqual({ error: undefined, result: "OK" });
    expect(kept[1].error).toMatch(/^WRONGTYPE/);
    expect(kept[2]).toEqual({ error: undefined, result: "v" });

    expect(await redis.multi().set(k, "1").incr(k).get(k).exec()).toEqual(["OK", 2, 2]);
  });

  it("multi-exec: a command that cannot be queued discards the whole transaction with one {error}", async () => {
    const k = key("discarded");
    const res = await rest(
      "/multi-exec",
      [
        ["SET", k, "x"],
        ["NOSUCHCOMMAND", "y"],
      ],
      { base64: true },
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ error: expect.stringMatching(/^ERR Command is not available: 'NOSUCHCOMMAND'/) });
    const arity = await rest("/multi-exec", [["SET", k, "x"], ["GET"]]);
    expect(arity.status).toBe(400);
    expect(JSON.parse(arity.text)).toEqual({ error: "ERR wrong number of arguments for 'get' command" });
    expect(await admin.exists(k)).toBe(0);
  });

  it("multi-exec is atomic on the bridge's shared connection", async () => {
    const counter = key("atomic");
    const requests: Promise<{ text: string }>[] = [];
    for (let i = 0; i < 25; i++) {
      requests.push(
        rest("/multi-exec", [
          ["INCR", counter],
          ["INCR", counter],
          ["INCR", counter],
        ]),
      );
      requests.push(
        rest("/pipeline", [
          ["INCR", counter],
          ["INCR", counter],
        ]),
      );
      requests.push(rest("/", ["INCR", counter]));
    }
    const responses = await Promise.all(requests);
    for (let i = 0; i < responses.length; i += 3) {
      const [a, b, c] = (JSON.parse(responses[i].text) as { result: number }[]).map((r) => r.result);
      expect([b - a, c - b]).toEqual([1, 1]);
    }
    expect(await admin.get(counter)).toBe(String(25 * 6));
  });
});

describe("errors", () => {
  it("a wrong token is a 401 and the client throws", async () => {
    const wrong = new Upstash({ url: bridge.url, token: "wrong-token" });
    await expect(wrong.get(key("x"))).rejects.toThrow(/^WRONGPASS invalid or missing auth token/);

    const expected = JSON.stringify({
      error: "WRONGPASS invalid or missing auth token. See https://docs.upstash.com/redis/troubleshooting/http_unauthorized for details.",
    });
    expect(await rest("/", ["PING"], { token: "wrong-token" })).toMatchObject({ status: 401, text: expected });
    expect(await rest("/", ["PING"], { token: null })).toMatchObject({ status: 401, text: expected });
    expect(await rest("/pipeline", [["PING"]], { token: null })).toMatchObject({ status: 401, text: expected });
  });

  it("an unknown command is a 400 with {error}, and the client throws", async () => {
    const res = await rest("/", ["NOSUCHCOMMAND", "a"], { base64: true });
    expect(res.status).toBe(400);
    expect(res.contentType).toBe("application/json");
    expect(JSON.parse(res.text)).toEqual({
      error: "ERR Command is not available: 'NOSUCHCOMMAND'. See https://upstash.com/docs/redis/overall/rediscompatibility for details",
    });
    await expect(redis.exec(["NOSUCHCOMMAND", "a"])).rejects.toThrow(/ERR Command is not available: 'NOSUCHCOMMAND'/);
  });

  it("a failing command is a 400 with Redis's message", async () => {
    const res = await rest("/", ["GET"]);
    expect(res).toMatchObject({ status: 400, text: '{"error":"ERR wrong number of arguments for \'get\' command"}' });
  });

  it("malformed bodies are a 400 with {error}", async () => {
    for (const [path, body] of [
      ["/", "[not json"],
      ["/", "{}"],
      ["/", "[]"],
      ["/", '["SET", "k", {"nested": true}]'],
      ["/pipeline", '["PING"]'],
      ["/multi-exec", "[]"],
    ]) {
      const res = await rest(path, body);
      expect(res.status, `${path} ${body}`).toBe(400);
      expect(JSON.parse(res.text)).toEqual({ error: expect.stringMatching(/^ERR /) });
    }
  });

  it("connection-state commands are refused, not run on the shared connection", async () => {
    for (const cmd of [["SELECT", "1"], ["SUBSCRIBE", "c"], ["MULTI"], ["BLPOP", key("l"), "0"]]) {
      const res = await rest("/", cmd);
      expect(res.status, cmd[0]).toBe(400);
    }
    expect(await redis.ping()).toBe("PONG");
  });
});

describe("exact JSON on the wire", () => {
  it("with and without Upstash-Encoding: base64", async () => {
    const k = key("wire");
    const value = "héllo ✓";
    expect((await rest("/", ["SET", k, value], { base64: true })).text).toBe('{"result":"OK"}');
    expect((await rest("/", ["SET", k, value])).text).toBe('{"result":"OK"}');

    expect((await rest("/", ["GET", k])).text).toBe(`{"result":"${value}"}`);
    expect((await rest("/", ["GET", k], { base64: true })).text).toBe(`{"result":"${b64(value)}"}`);

    // Simple strings other than OK are encoded too; integers and nulls never are.
    expect((await rest("/", ["PING"], { base64: true })).text).toBe(`{"result":"${b64("PONG")}"}`);
    expect((await rest("/", ["INCR", key("wire-n")], { base64: true })).text).toBe('{"result":1}');
    expect((await rest("/", ["GET", key("wire-missing")], { base64: true })).text).toBe('{"result":null}');

    // Nested arrays keep their shape; every bulk string inside is encoded (ids included).
    const s = key("wire-stream");
    await rest("/", ["XADD", s, "1-1", "f", "v"]);
    expect((await rest("/", ["XRANGE", s, "-", "+"], { base64: true })).text).toBe(
      `{"result":[["${b64("1-1")}",["${b64("f")}","${b64("v")}"]]]}`,
    );
    expect((await rest("/", ["XRANGE", s, "-", "+"])).text).toBe('{"result":[["1-1",["f","v"]]]}');

    // Pipeline and multi-exec: one {result}|{error} per command.
    expect(
      (
        await rest(
          "/pipeline",
          [
            ["SET", k, "a"],
            ["INCR", k],
            ["GET", k],
          ],
          { base64: true },
        )
      ).text,
    ).toBe(`[{"result":"OK"},{"error":"ERR value is not an integer or out of range"},{"result":"${b64("a")}"}]`);
    expect(
      (
        await rest(
          "/multi-exec",
          [
            ["SET", k, "a"],
            ["INCR", k],
            ["GET", k],
          ],
          { base64: true },
        )
      ).text,
    ).toBe(`[{"result":"OK"},{"error":"ERR value is not an integer or out of range"},{"result":"${b64("a")}"}]`);

    // HGETALL stays a flat RESP2 array (not turned into an object on the way).
    await rest("/", ["HSET", key("wire-h"), "a", "1"]);
    expect((await rest("/", ["HGETALL", key("wire-h")])).text).toBe('{"result":["a","1"]}');
  });

  it("Upstash's URL form: GET /get/<key>, POST /set/<key> with the value as body", async () => {
    const k = key("path form");
    const post = await fetch(`${bridge.url}/set/${encodeURIComponent(k)}?EX=100`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: "a value / with slashes",
    });
    expect(await post.text()).toBe('{"result":"OK"}');
    const get = await fetch(`${bridge.url}/get/${encodeURIComponent(k)}?_token=${TOKEN}`);
    expect(await get.text()).toBe('{"result":"a value / with slashes"}');
    expect(await admin.ttl(k)).toBeGreaterThan(90);
  });
});

describe("when redis is unreachable", () => {
  it("fails fast with a 5xx JSON error instead of hanging", async () => {
    const closedPort = await freePort();
    const down = await startUpstashBridge({ port: 0, token: TOKEN, redisUrl: `redis://127.0.0.1:${closedPort}` });
    try {
      let started = Date.now();
      const res = await fetch(`${down.url}/`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}` },
        body: '["PING"]',
      });
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.json()).toEqual({ error: expect.stringMatching(/^ERR redis-server at 127\.0\.0\.1:\d+ is unavailable/) });

      // The client does not retry HTTP errors: it throws promptly.
      const client = new Upstash({ url: down.url, token: TOKEN });
      started = Date.now();
      await expect(client.ping()).rejects.toThrow(/is unavailable/);
      await expect(client.multi().ping().exec()).rejects.toThrow(/is unavailable/);
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await down.close();
    }
  });

  it("recovers by itself when redis comes back", async () => {
    const port = await freePort();
    const startRedis = async (): Promise<ChildProcess> => {
      const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: "ignore",
      });
      await new Promise<void>((resolve, reject) => {
        child.once("error", (err) =>
          reject(new Error(`cannot start redis-server (${err.message}); install redis-server so it is on PATH`)),
        );
        child.once("spawn", () => resolve());
      });
      return child;
    };
    const stopRedis = (child: ChildProcess) =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
    const ping = () => fetch(`${bridgeUrl}/`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` }, body: '["PING"]' });
    const waitForPong = async () => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const res = await ping();
        if (res.status === 200) return res.text();
        if (Date.now() > deadline) throw new Error(`bridge did not recover: ${res.status} ${await res.text()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    let child = await startRedis();
    const own = await startUpstashBridge({ port: 0, token: TOKEN, redisUrl: `redis://127.0.0.1:${port}` });
    const bridgeUrl = own.url;
    try {
      expect(await waitForPong()).toBe('{"result":"PONG"}');
      await stopRedis(child);
      const started = Date.now();
      const res = await ping();
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(Date.now() - started).toBeLessThan(1_000);
      child = await startRedis();
      expect(await waitForPong()).toBe('{"result":"PONG"}');
    } finally {
      await own.close();
      await stopRedis(child);
    }
  });
});

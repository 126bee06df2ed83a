// The Upstash event log against the real redis-server, through the local Upstash REST bridge,
// with @upstash/redis configured as in production. Runs in workerd, like the product.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import type { Health } from "../../contract/index.ts";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import type { LogEntry } from "../../core/rpc.ts";
import { GRACE_MS, UpstashEventLog, type UpstashLogConfig } from "../../durable-objects/event-log/upstash-log.ts";
import { readConfig } from "../../core/config/index.ts";
import { eventLogHealth } from "../../worker/health.ts";
import { eventLogConformance } from "../worker/event-log-conformance.ts";
import { publish, stub } from "../worker/helpers.ts";

const config: UpstashLogConfig = {
  url: inject("upstashUrl"),
  token: inject("upstashToken"),
  // This file's own prefix (see test/setup/upstash-file-prefix.ts), under the run's.
  keyPrefix: (env as unknown as Env).UPSTASH_KEY_PREFIX!,
};
const RETENTION_S = 3600;
let n = 0;
/** A log on a stream no other test touches. */
const fresh = (name: string, overrides: Partial<UpstashLogConfig> = {}) =>
  new UpstashEventLog({ ...config, ...overrides }, `${name}-${++n}`, RETENTION_S);

const entry = (id: string, n = 0): LogEntry => ({ id, event: "metric-update", data: JSON.stringify({ n, text: "é\r\n🔥" }) });

/** Raw commands through the bridge, to look at the stream without the log's own reading. */
async function redis<T>(...command: (string | number)[]): Promise<T> {
  const response = await fetch(config.url, {
    method: "POST",
    headers: { Authorization: `Bearer ${config.token}` },
    body: JSON.stringify(command),
  });
  const body = (await response.json()) as { result?: T; error?: string };
  if (body.error) throw new Error(body.error);
  return body.result as T;
}

describe("Upstash event log (Redis Streams via the REST bridge)", () => {
  eventLogConformance(async () => fresh("conformance"));

  it("is what the dashboard object uses when Upstash is configured, one stream per dashboard", async () => {
    expect(config.keyPrefix!.startsWith(`${inject("upstashKeyPrefix")}:`)).toBe(true);
    const [id] = await publish("demo");
    const key = await runInDurableObject(stub("demo"), (obj: DashboardObject) => {
      const log = (obj as unknown as { log: UpstashEventLog }).log;
      expect(log).toBeInstanceOf(UpstashEventLog);
      expect(log.backend).toBe("upstash-redis");
      return log.key;
    });
    expect(key).toBe(`${config.keyPrefix}:{demo}:events`);
    expect(await redis("XRANGE", key, "-", "+")).toEqual([[id, ["event", "metric-update", "data", expect.any(String)]]]);
  });

  it("stores each event as one stream entry: id, `event` and the payload bytes verbatim", async () => {
    const log = fresh("layout");
    const data = '{"message":"evil\\r\\n\\r\\nid: 9-9","emoji":"🔥","n":1.50,"sep":"\u2028"}';
    await log.append([{ id: "1700000000000-0", event: "alert", data }, entry("1700000000000-1", 2)]);
    expect(await redis("XRANGE", log.key, "-", "+")).toEqual([
      ["1700000000000-0", ["event", "alert", "data", data]],
      ["1700000000000-1", ["event", "metric-update", "data", entry("x", 2).data]],
    ]);
    // A payload that is itself valid JSON text of another type comes back as text, unparsed.
    await log.append([{ id: "1700000000001-0", event: "alert", data: "12" }]);
    expect((await log.readAfter("1700000000000-1", 10))[0]).toEqual({ id: "1700000000001-0", event: "alert", data: "12" });
  });

  it("appends idempotently: a retried batch (response lost) leaves one copy", async () => {
    const log = fresh("retry");
    const batch = [entry("5000-0", 1), entry("5000-1", 2), entry("5001-0", 3)];
    await log.append(batch);
    await log.append(batch); // the same batch again, as the dashboard object retries it
    expect(await log.readAfter("0-0", 10)).toEqual(batch);
    // Part of a batch already in (the first request got through, then the connection broke).
    const next = [entry("6000-0", 4), entry("6000-1", 5)];
    await log.append([...batch.slice(2), next[0]!]);
    await log.append([...batch.slice(2), ...next]);
    expect(await log.readAfter("0-0", 10)).toEqual([...batch, ...next]);
    expect(await redis("XLEN", log.key)).toBe(5);
  });

  it("refuses an id below the stream's newest one that it never appended", async () => {
    const log = fresh("conflict");
    await log.append([entry("7000-0"), entry("7000-2")]);
    await expect(log.append([entry("7000-1")])).rejects.toThrow(/^Upstash: cannot append 7000-1 .*newer entry/);
    await expect(log.append([entry("7000-2", 99)])).rejects.toThrow(/^Upstash: .* different entry with id 7000-2/);
    expect((await log.readAfter("0-0", 10)).map((e) => e.id)).toEqual(["7000-0", "7000-2"]);
  });

  it("appends a large catch-up batch (an outage's worth) in order", async () => {
    const log = fresh("large");
    const batch = Array.from({ length: 1203 }, (_, i) => entry(`${10_000 + Math.floor(i / 2)}-${i % 2}`, i));
    await log.append(batch);
    expect(await redis("XLEN", log.key)).toBe(1203);
    expect(await log.lastId()).toBe(batch[1202]!.id);
    expect(await log.readAfter(batch[599]!.id, 1000)).toEqual(batch.slice(600, 1203));
  });

  it("trims to retention exactly, and the XADD backstop bounds a stream nobody trims", async () => {
    const log = fresh("retention");
    const now = Date.now();
    const minute = 60_000;
    // 70 minutes of one event a minute, then trim to the hour's retention, as the object does.
    const old = Array.from({ length: 70 }, (_, i) => entry(`${now - (70 - i) * minute}-0`, i));
    await log.append(old);
    expect(await redis("XLEN", log.key)).toBe(70); // the backstop leaves the grace period alone
    await log.trim(now - RETENTION_S * 1000);
    const kept = await log.readSince(0, 1000);
    expect(kept.map((e) => e.id)).toEqual(old.slice(10).map((e) => e.id));
    expect(await log.trimmedThrough()).toBe(old[9]!.id);
    const first = await redis<[string, string[]][]>("XRANGE", log.key, "-", "+", "COUNT", 1);
    expect(Number(first[0]![0].split("-")[0])).toBeGreaterThanOrEqual(now - RETENTION_S * 1000);

    // Never trimmed: appends alone keep the stream within retention + grace (+ one radix node).
    const untrimmed = fresh("backstop");
    const span = RETENTION_S * 1000 + GRACE_MS;
    const ancient = Array.from({ length: 400 }, (_, i) => entry(`${now - 2 * span + i * 1000}-0`, i));
    await untrimmed.append(ancient);
    expect(await redis("XLEN", untrimmed.key)).toBe(400); // within their own retention when appended
    await untrimmed.append([entry(`${now}-0`)]);
    const left = await redis<number>("XLEN", untrimmed.key);
    expect(left).toBeLessThan(101); // whole nodes of old entries went (a node holds at most 100)
    expect(await untrimmed.lastId()).toBe(`${now}-0`);
  });

  it("reads the newest id and an empty stream without errors", async () => {
    const log = fresh("empty");
    expect(await log.lastId()).toBeNull();
    expect(await log.readAfter("0-0", 10)).toEqual([]);
    expect(await log.readSince(0, 10)).toEqual([]);
    expect(await log.trimmedThrough()).toBeNull();
    await log.trim(Date.now()); // nothing to trim, no marker
    expect(await log.trimmedThrough()).toBeNull();
  });
});

describe("Upstash trouble fails fast with a clear message", () => {
  const time = async (fn: () => Promise<unknown>) => {
    const started = Date.now();
    const error = await fn().then(
      () => null,
      (err: unknown) => err as Error,
    );
    return { error, ms: Date.now() - started };
  };

  it("a wrong token: Upstash's 401 message", async () => {
    const { error, ms } = await time(() => fresh("auth", { token: "wrong-token" }).lastId());
    expect(error?.message).toMatch(/^Upstash: WRONGPASS invalid or missing auth token/);
    expect(error?.message).not.toMatch(/command was/);
    expect(ms).toBeLessThan(1000);
  });

  it("redis down behind the REST endpoint: the 5xx error, at once", async () => {
    const log = fresh("dead-redis", { url: inject("upstashDeadRedisUrl") });
    const { error, ms } = await time(() => log.append([entry("1-0")]));
    expect(error?.message).toMatch(/^Upstash: ERR redis-server at 127\.0\.0\.1:\d+ is unavailable/);
    expect(error?.message).not.toContain(entry("1-0").data); // payloads stay out of messages
    expect(ms).toBeLessThan(1000);
  });

  it("nothing listening: cannot reach, within a second", async () => {
    const { error, ms } = await time(() => fresh("closed", { url: inject("upstashClosedUrl") }).readAfter("0-0", 10));
    expect(error?.message).toMatch(/^Upstash: cannot reach 127\.0\.0\.1:\d+/);
    expect(ms).toBeLessThan(1000);
  });

  it("an endpoint that never answers: a timeout after 3 s, not a hang", async () => {
    const { error, ms } = await time(() => fresh("blackhole", { url: inject("upstashBlackholeUrl") }).lastId());
    expect(error?.message).toMatch(/^Upstash: timeout after 3000 ms \(XREVRANGE to 127\.0\.0\.1:\d+\)/);
    expect(ms).toBeGreaterThanOrEqual(2900);
    expect(ms).toBeLessThan(5000);
  });

  it("health reports reachability: ok, or degraded with the reason", async () => {
    const { status, body } = await SELF.fetch("https://dash.test/api/health").then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Health,
    }));
    expect(status).toBe(200);
    expect(body).toEqual({ status: "ok", eventLog: { backend: "upstash-redis", status: "ok" } });

    const base = readConfig(env);
    const down = await eventLogHealth({ ...base, upstash: { ...base.upstash!, url: inject("upstashDeadRedisUrl") } });
    expect(down).toMatchObject({ backend: "upstash-redis", status: "degraded" });
    expect(down.reason).toMatch(/^Upstash: ERR redis-server at .* is unavailable/);
    const { error, ms } = await time(() =>
      eventLogHealth({ ...base, upstash: { ...base.upstash!, url: inject("upstashBlackholeUrl") } }).then((h) => {
        throw new Error(h.reason);
      }),
    );
    expect(error?.message).toMatch(/^Upstash: timeout after 1500 ms/);
    expect(ms).toBeLessThan(2500);
  });
});

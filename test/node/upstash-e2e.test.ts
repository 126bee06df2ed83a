// End to end on the Upstash event log: `wrangler dev` running the real Worker, its cron
// publisher and its Durable Objects, with UPSTASH_REDIS_REST_URL pointing at the local Upstash
// REST bridge over a redis-server of our own (so stopping it never disturbs the shared one on
// 6379, and its INFO commandstats count only what this Worker sends). Clients are real SSE
// clients (the `eventsource` package, plus a raw byte reader).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { EventSource } from "eventsource";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { DashboardStats, Health } from "../../contract/index.ts";
import { startUpstashBridge, type UpstashBridge } from "../../tools/upstash-bridge/server.ts";
import { freePort } from "../../tools/free-port.ts";

const RUN = randomBytes(4).toString("hex");
const TOKEN = `e2e-token-${RUN}`;
const INGEST_TOKEN = `e2e-ingest-token-${RUN}-0123456789`;
/** Marks the samples pushed through ingest, so they are told apart from the cron's ticks. */
const INGEST_RPS = 4_242_000;
const PREFIX = `rtd-e2e:${RUN}`;
const DASHBOARDS = ["e2e-a", "e2e-b"];
/** Each cron invocation publishes once a second (the product's rate) for this long. */
const WINDOW_S = 10;
const streamKey = (dashboard: string) => `${PREFIX}:{${dashboard}}:events`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let redisPort: number;
let redisProc: ChildProcess | null = null;
let admin: IORedis;
let bridge: UpstashBridge;
let wrangler: ChildProcess;
let base: string;
let output = "";

// ---- redis-server of our own ----------------------------------------------------------------

async function startRedis(): Promise<void> {
  const child = spawn(
    "redis-server",
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: "ignore" },
  );
  await new Promise<void>((resolve, reject) => {
    child.once("error", (err) =>
      reject(
        new Error(
          `cannot start redis-server (${err.message}). These tests need a real redis: install redis-server ` +
            "(e.g. `sudo apt-get install redis-server`) so it is on PATH, then re-run.",
        ),
      ),
    );
    child.once("spawn", () => resolve());
  });
  redisProc = child;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new IORedis(redisPort, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === "PONG") return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${redisPort} did not come up`);
      await sleep(50);
    } finally {
      probe.disconnect();
    }
  }
}

/** Stops redis the way a restart would, keeping the data (SHUTDOWN SAVE writes it to disk). */
async function stopRedis(): Promise<void> {
  const child = redisProc!;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await admin.call("SHUTDOWN", "SAVE").catch(() => {}); // the connection closes: expected
  await exited;
  redisProc = null;
}

async function commandStats(): Promise<Map<string, number>> {
  const info = await admin.info("commandstats");
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
  return calls;
}

/** Calls per command between two snapshots, without our own INFO. */
function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of after) {
    const d = n - (before.get(name) ?? 0);
    if (d > 0 && name !== "info") out[name] = d;
  }
  return out;
}

const total = (d: Record<string, number>) => Object.values(d).reduce((a, b) => a + b, 0);

/** The stream as `redis-cli XRANGE <key> - +` prints it, as bytes: id, then field/value lines. */
async function xrangeViaCli(dashboard: string): Promise<{ id: string; event: string; data: Buffer }[]> {
  const { stdout } = await promisify(execFile)("redis-cli", ["-p", String(redisPort), "XRANGE", streamKey(dashboard), "-", "+"], {
    encoding: "buffer",
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = stdout.indexOf(10); i !== -1; i = stdout.indexOf(10, start)) {
    lines.push(stdout.subarray(start, i));
    start = i + 1;
  }
  const entries: { id: string; event: string; data: Buffer }[] = [];
  for (let i = 0; i + 4 < lines.length; i += 5) {
    expect(lines[i + 1]!.toString()).toBe("event");
    expect(lines[i + 3]!.toString()).toBe("data");
    entries.push({ id: lines[i]!.toString(), event: lines[i + 2]!.toString(), data: lines[i + 4]! });
  }
  return entries;
}

// ---- the Worker ------------------------------------------------------------------------------

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(base + path);
  return { status: res.status, body: (await res.json()) as T };
}

/** Pushes one sample through the ingest API (a publisher outside the Worker). */
async function ingest(dashboard: string, i: number): Promise<{ ids: string[]; alertIds: string[] }> {
  const res = await fetch(`${base}/api/dashboards/${dashboard}/metrics`, {
    method: "POST",
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ cpu: 41, memory: 61, rps: INGEST_RPS + i, activeConnections: 7, errorRate: 0.1 }),
  });
  const body = (await res.json()) as { ids: string[]; alertIds: string[] };
  if (res.status !== 202) throw new Error(`ingest: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Fires the scheduled handler as Cloudflare's cron would; resolves when the invocation ends. */
function cron(): Promise<void> {
  return fetch(`${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`).then(async (r) => {
    await r.text();
    if (!r.ok) throw new Error(`scheduled trigger: ${r.status}`);
  });
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output.slice(-3000)}`);
    await sleep(100);
  }
}

interface Received {
  id: string;
  event: string;
  data: string;
}

/** A browser-like client: reconnects by itself with Last-Event-ID. */
function sseClient(dashboard: string) {
  const events: Received[] = [];
  let errors = 0;
  // logs=debug: every event the log holds (simulated dashboards publish debug lines too).
  const source = new EventSource(`${base}/api/dashboards/${dashboard}/events?history=0&logs=debug`);
  for (const type of ["metric-update", "alert", "gap", "log"]) {
    source.addEventListener(type, (e) => events.push({ id: e.lastEventId, event: type, data: e.data }));
  }
  source.onerror = () => errors++;
  return { events, source, errors: () => errors, close: () => source.close() };
}

/** Every byte of one stream, in order. */
async function rawClient(dashboard: string) {
  const controller = new AbortController();
  const res = await fetch(`${base}/api/dashboards/${dashboard}/events?history=0&logs=debug`, { signal: controller.signal });
  expect(res.status).toBe(200);
  const chunks: { at: number; bytes: Buffer }[] = [];
  let ended: "done" | "error" | null = null;
  void (async () => {
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return void (ended = "done");
        chunks.push({ at: Date.now(), bytes: Buffer.from(value) });
      }
    } catch {
      ended ??= "error";
    }
  })();
  const bytes = () => Buffer.concat(chunks.map((c) => c.bytes));
  return {
    bytes,
    /** The frames (each ending in a blank line), as bytes. */
    frames: () => {
      const all = bytes();
      const out: Buffer[] = [];
      let start = 0;
      for (let i = all.indexOf("\n\n"); i !== -1; i = all.indexOf("\n\n", start)) {
        out.push(all.subarray(start, i + 2));
        start = i + 2;
      }
      return out;
    },
    heartbeatsSince: (t: number) =>
      chunks.filter((c) => c.at >= t).reduce((n, c) => n + (c.bytes.toString().match(/^: heartbeat$/gm)?.length ?? 0), 0),
    ended: () => ended,
    close: () => controller.abort(),
  };
}

const eventFrame = (e: { id: string; event: string; data: Buffer }) =>
  Buffer.concat([Buffer.from(`id: ${e.id}\nevent: ${e.event}\ndata: `), e.data, Buffer.from("\n\n")]);

const isEventFrame = (f: Buffer) => f.subarray(0, 4).toString() === "id: ";

// ---- setup -----------------------------------------------------------------------------------

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rtd-upstash-e2e-"));
  redisPort = await freePort();
  await startRedis();
  admin = new IORedis(redisPort, "127.0.0.1", { maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 100, 500) });
  admin.on("error", () => {});
  bridge = await startUpstashBridge({ port: 0, token: TOKEN, redisUrl: `redis://127.0.0.1:${redisPort}` });

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const wranglerJs = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
  const vars = {
    UPSTASH_REDIS_REST_URL: bridge.url,
    UPSTASH_REDIS_REST_TOKEN: TOKEN,
    UPSTASH_KEY_PREFIX: PREFIX,
    DASHBOARDS: JSON.stringify(DASHBOARDS.map((id) => ({ id, name: id }))),
    HEARTBEAT_SECONDS: "1",
    PUBLISH_WINDOW_SECONDS: String(WINDOW_S),
    INGEST_TOKEN,
  };
  wrangler = spawn(
    process.execPath,
    [
      wranglerJs,
      "dev",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(await freePort()),
      "--persist-to",
      join(dir, "state"), // Durable Object storage of its own
      "--show-interactive-dev-session=false",
      ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ],
    { env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "1" }, detached: true },
  );
  wrangler.stdout!.on("data", (d: Buffer) => (output += d));
  wrangler.stderr!.on("data", (d: Buffer) => (output += d));
  await until(
    "wrangler dev",
    async () => {
      if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
      return fetch(`${base}/api/dashboards`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      );
    },
    60_000,
  );
}, 90_000);

afterAll(async () => {
  if (wrangler?.pid) {
    try {
      process.kill(-wrangler.pid, "SIGTERM"); // its process group: wrangler and workerd
    } catch {
      // already gone
    }
  }
  await bridge?.close();
  if (redisProc) {
    const exited = new Promise((r) => redisProc!.once("exit", r));
    redisProc.kill("SIGTERM");
    await exited;
  }
  admin?.disconnect();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---- tests -----------------------------------------------------------------------------------

describe("Upstash event log, end to end (wrangler dev → bridge → redis-server)", () => {
  it("concurrent publishers: one ordered stream per dashboard, SSE bytes = Redis bytes, ~1 command per event", async () => {
    const raw = await rawClient("e2e-a");
    const es = sseClient("e2e-b");
    onTestFinished(() => {
      raw.close();
      es.close();
    });
    await until("clients connected", async () => {
      const { body } = await getJson<DashboardStats>("/api/dashboards/e2e-b/stats");
      return body.connectedClients === 1 ? true : undefined;
    });
    const started = Date.now();
    // Two cron invocations at once, as an overlapping or retried cron would run them.
    const publishing = Promise.all([cron(), cron()]);

    // Steady state: after the first publish (and its first trim), measure a window.
    await until("first events", () => (es.events.length > 0 && raw.frames().some(isEventFrame) ? true : undefined));
    await sleep(1_200);
    const before = await commandStats();
    const deliveredBefore = raw.frames().filter(isEventFrame).length + es.events.length;
    await sleep(Math.max(0, started + (WINDOW_S - 1.5) * 1000 - Date.now()));
    const after = await commandStats();
    const delivered = raw.frames().filter(isEventFrame).length + es.events.length - deliveredBefore;
    // More publishers racing the cron's last ticks: 2 × 12 concurrent ingest requests.
    const results = await Promise.all(DASHBOARDS.flatMap((d) => Array.from({ length: 12 }, (_, i) => ingest(d, i))));
    const ingested = results.flatMap((r) => [...r.ids, ...r.alertIds]);
    expect(results.flatMap((r) => r.ids)).toHaveLength(24); // one metric event per sample (+ any alerts)
    await publishing;
    await sleep(300);

    const used = delta(before, after);
    const perEvent = total(used) / delivered;
    console.log(
      `[upstash-e2e] steady state at 1 Hz: ${total(used)} Redis commands for ${delivered} delivered events ` +
        `= ${perEvent.toFixed(3)} per event (${JSON.stringify(used)}); trimming adds 3 commands per dashboard per minute once entries age out (+0.05 at 1 Hz)`,
    );
    expect(delivered).toBeGreaterThanOrEqual(8);
    expect(perEvent).toBeLessThanOrEqual(1.05);
    expect(used.xrange ?? 0).toBe(0); // no polling while publishes flow

    const allStored = new Set<string>();
    for (const dashboard of DASHBOARDS) {
      const stored = await xrangeViaCli(dashboard);
      const ids = stored.map((e) => e.id);
      for (const id of ids) allStored.add(`${dashboard}/${id}`);
      // Strictly increasing ids, and each tick published once although two publishers ran.
      const keys = ids.map((id) => id.split("-").map(Number) as [number, number]);
      for (let i = 1; i < keys.length; i++) {
        expect(keys[i]![0] > keys[i - 1]![0] || (keys[i]![0] === keys[i - 1]![0] && keys[i]![1] > keys[i - 1]![1])).toBe(true);
      }
      const metrics = stored.filter((e) => e.event === "metric-update").map((e) => JSON.parse(e.data.toString()));
      const ticks = metrics.filter((m) => m.rps < INGEST_RPS).map((m) => m.timestamp);
      expect(new Set(ticks).size).toBe(ticks.length);
      expect(ticks.length).toBeGreaterThanOrEqual(WINDOW_S - 2);
      // Every ingested sample is in, once.
      expect(
        metrics
          .filter((m) => m.rps >= INGEST_RPS)
          .map((m) => m.rps - INGEST_RPS)
          .sort((a, b) => a - b),
      ).toEqual(Array.from({ length: 12 }, (_, i) => i));
      const { body } = await getJson<DashboardStats>(`/api/dashboards/${dashboard}/stats`);
      expect(body.eventsPublished).toBe(stored.length);
      expect(body.eventLog).toEqual({ backend: "upstash-redis", status: "ok" });
      expect(body.lastEventId).toBe(ids[ids.length - 1]);

      if (dashboard === "e2e-a") {
        // Byte for byte: the frames on the wire are the entries in Redis, from the first this
        // viewer got. Before it only the simulator's ticks its arrival filled in (ids at their
        // ticks' times, before it connected; `history=0` asks for none of them).
        const frames = raw.frames().filter(isEventFrame);
        const first = stored.findIndex((e) => frames[0]!.toString().startsWith(`id: ${e.id}\n`));
        expect(first).toBeGreaterThanOrEqual(0);
        expect(stored.slice(0, first).every((e) => Number(e.id.split("-")[0]) < started)).toBe(true);
        expect(Buffer.concat(frames).equals(Buffer.concat(stored.slice(first).map(eventFrame)))).toBe(true);
        expect(raw.bytes().toString()).toMatch(/^retry: \d+\n\n/);
      } else {
        // From its first event (its history starts within the ticks filled in as it connected).
        const first = ids.indexOf(es.events[0]!.id);
        expect(first).toBeGreaterThanOrEqual(0);
        expect(stored.slice(0, first).every((e) => Number(e.id.split("-")[0]) < started)).toBe(true);
        expect(es.events.map((e) => e.id)).toEqual(ids.slice(first));
        expect(es.events.map((e) => Buffer.from(e.data))).toEqual(stored.slice(first).map((e) => e.data));
        expect(es.errors()).toBe(0);
      }
    }
    expect(ingested.every((id) => DASHBOARDS.some((d) => allStored.has(`${d}/${id}`)))).toBe(true);
  }, 40_000);

  it("an unwatched dashboard makes no reads: none while published to, none at all when idle", async () => {
    await until("viewers gone", async () => {
      const stats = await Promise.all(DASHBOARDS.map((d) => getJson<DashboardStats>(`/api/dashboards/${d}/stats`)));
      return stats.every((s) => s.body.connectedClients === 0) ? true : undefined;
    });
    // Published to by a real system, nobody watching: appends only (a trim, if one falls due,
    // reads one id). (A simulated dashboard nobody watches is not published to at all.)
    let before = await commandStats();
    for (let i = 0; i < 5; i++) {
      await Promise.all(DASHBOARDS.map((d) => ingest(d, 100 + i)));
      await sleep(1_000);
    }
    const published = delta(before, await commandStats());
    console.log(`[upstash-e2e] unwatched, ingest at 1 Hz for 5 s: ${JSON.stringify(published)}`);
    expect(published.xadd).toBeGreaterThanOrEqual(2 * 5);
    expect(published.xrange ?? 0).toBe(0);
    expect(total(published) - published.xadd!).toBeLessThanOrEqual(2 * 3); // at most one trim each

    // Nobody watching, nothing published: not a single command over two poll periods (2 × 5 s).
    await sleep(500);
    before = await commandStats();
    await sleep(10_500);
    const idle = delta(before, await commandStats());
    console.log(`[upstash-e2e] unwatched and idle for 10.5 s: ${JSON.stringify(idle)}`);
    expect(idle).toEqual({});
  }, 40_000);

  it("Redis stopped mid-stream and started again: streams stay open, health says why, no client loses an event", async () => {
    const clients = [sseClient("e2e-a"), sseClient("e2e-a")];
    const raw = await rawClient("e2e-a");
    onTestFinished(async () => {
      for (const c of clients) c.close();
      raw.close();
      if (!redisProc) await startRedis(); // a failure mid-outage must not leave redis down
    });
    await until("clients connected", async () => {
      const { body } = await getJson<DashboardStats>("/api/dashboards/e2e-a/stats");
      return body.connectedClients === 3 ? true : undefined;
    });
    const publishing = cron();
    await until("events before the outage", () => (clients.every((c) => c.events.length >= 2) ? true : undefined));

    await stopRedis();
    const outageStarted = Date.now();
    // Publishing goes on; appends fail; the object keeps the events and retries.
    const health = await until("health degraded", async () => {
      const h = await getJson<Health>("/api/health");
      return h.body.status === "degraded" ? h : undefined;
    });
    expect(health.status).toBe(503);
    expect(health.body.eventLog).toMatchObject({ backend: "upstash-redis", status: "degraded" });
    expect(health.body.eventLog.reason).toMatch(/^Upstash: ERR redis-server at 127\.0\.0\.1:\d+ is unavailable/);
    const stats = await until("stats degraded", async () => {
      const s = await getJson<DashboardStats>("/api/dashboards/e2e-a/stats");
      return s.body.eventLog.status === "degraded" ? s.body : undefined;
    });
    expect(stats.eventLog.reason).toMatch(/^Upstash: /);
    await sleep(Math.max(0, outageStarted + 3_500 - Date.now()));
    const seenDuringOutage = clients.map((c) => c.events.length);
    // Streams stay open and keep beating; nothing half-written reaches them.
    expect(raw.ended()).toBeNull();
    expect(raw.heartbeatsSince(outageStarted)).toBeGreaterThanOrEqual(2);
    expect(raw.bytes().toString()).toMatch(/^retry: \d+\n\n((: heartbeat|id: \d+-\d+\nevent: [a-z-]+\ndata: [^\n]+)\n\n)*$/);
    for (const c of clients) expect(c.source.readyState).toBe(EventSource.OPEN);

    await startRedis();
    await publishing; // the cron window ends
    // Everything appended during the outage arrives, in order, to every client.
    const stored = await until("the outage's events delivered", async () => {
      const s = await getJson<DashboardStats>("/api/dashboards/e2e-a/stats");
      if (s.body.eventLog.status !== "ok") return undefined;
      const entries = await xrangeViaCli("e2e-a");
      const last = entries[entries.length - 1]?.id;
      return s.body.lastEventId === last && clients.every((c) => c.events.at(-1)?.id === last) ? entries : undefined;
    });
    const { body } = await getJson<DashboardStats>("/api/dashboards/e2e-a/stats");
    expect(body.eventsPublished).toBe(stored.length); // every accepted event is in Redis, once
    for (const c of clients) {
      const first = stored.findIndex((e) => e.id === c.events[0]!.id);
      expect(first).toBeGreaterThanOrEqual(0);
      expect(c.events.map((e) => e.id)).toEqual(stored.slice(first).map((e) => e.id));
      expect(c.events.map((e) => e.data)).toEqual(stored.slice(first).map((e) => e.data.toString()));
      expect(c.events.length).toBeGreaterThan(seenDuringOutage[clients.indexOf(c)]!);
      expect(c.errors()).toBe(0); // never dropped, never reconnected
    }
    const frames = raw.frames().filter(isEventFrame);
    const first = stored.findIndex((e) => frames[0]!.toString().startsWith(`id: ${e.id}\n`));
    expect(Buffer.concat(frames).equals(Buffer.concat(stored.slice(first).map(eventFrame)))).toBe(true);
    const outageIds = stored.filter((e) => Number(e.id.split("-")[0]) > outageStarted);
    expect(outageIds.length).toBeGreaterThanOrEqual(3);
    expect((await getJson<Health>("/api/health")).status).toBe(200);
  }, 45_000);
});

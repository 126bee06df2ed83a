// The product as the benchmark runs it: its own redis-server, the Upstash bridge over it, and
// `wrangler dev` (local workerd) configured for Upstash — the production event-log path.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startUpstashBridge, type UpstashBridge } from "../tools/upstash-bridge/server.ts";
import { freePort } from "../tools/free-port.ts";

const exec = promisify(execFile);
export const INGEST_TOKEN = "bench-ingest-token-0123456789";
export const DASHBOARD = "bench";

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
}

export class Redis {
  readonly port: number;
  private readonly proc: ChildProcess;

  private constructor(port: number, proc: ChildProcess) {
    this.port = port;
    this.proc = proc;
  }

  static async start(): Promise<Redis> {
    const port = await freePort();
    const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    proc.on("error", (err) => {
      throw new Error(`redis-server could not start (${err.message}); install it (Debian: apt-get install redis-server)`);
    });
    const redis = new Redis(port, proc);
    await waitFor(async () => (await redis.cli("PING")).trim() === "PONG", 10_000, "redis-server");
    return redis;
  }

  async cli(...args: string[]): Promise<string> {
    return (await exec("redis-cli", ["-p", String(this.port), ...args])).stdout;
  }

  /** Calls per command since the last CONFIG RESETSTAT, leaving out the benchmark's own probes. */
  async commandStats(): Promise<Record<string, number>> {
    const out = await this.cli("INFO", "commandstats");
    const stats: Record<string, number> = {};
    for (const m of out.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (!/^(info|config|ping)\b/.test(m[1]!)) stats[m[1]!] = Number(m[2]);
    }
    return stats;
  }

  async resetStats(): Promise<void> {
    await this.cli("CONFIG", "RESETSTAT");
  }

  stop(): void {
    this.proc.kill("SIGTERM");
  }
}

export interface StackOptions {
  heartbeatSeconds?: number;
  maxStreams?: number;
  /** RELAYS_PER_DASHBOARD (default 0: viewers on the dashboard's object). */
  relays?: number;
  streamsPerRelay?: number;
  /** Also run bench/sink (viewers inside workerd, see sink()) in the same wrangler dev. */
  sink?: boolean;
  /**
   * Run the Upstash bridge in its own process instead of the benchmark's: with thousands of
   * viewers the load generator is busy enough to delay the bridge's answers past the product's
   * 3 s deadline on Upstash calls.
   */
  bridgeProcess?: boolean;
  /** The event log: Upstash through the bridge (default) or the objects' own SQLite. */
  log?: "upstash" | "sqlite";
  /** More variables, or other values for the ones above (e.g. DASHBOARDS). */
  vars?: Record<string, string>;
  /** wrangler configurations instead of the product's wrangler.toml (e.g. a benchmark Worker). */
  configs?: string[];
}

/** The bridge as a child process (`npm run bridge`). */
export async function spawnBridge(redisPort: number): Promise<Pick<UpstashBridge, "url" | "close">> {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    ["tools/upstash-bridge/cli.ts", "--port", String(port), "--token", "bench-token", "--redis", `redis://127.0.0.1:${redisPort}`],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /listening on (\S+),/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once("exit", (code) => reject(new Error(`the Upstash bridge exited (${code}): ${out}`)));
  });
  proc.stdout!.resume();
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}

export interface Sink {
  open: number;
  events: number;
  errors: number;
  close(): void;
}

/** wrangler dev over the bridge; restart() is a deploy: every object evicted, every stream cut. */
export class Stack {
  url = "";
  private wrangler: ChildProcess | null = null;
  private log = "";

  readonly redis: Redis;
  readonly bridge: Pick<UpstashBridge, "url" | "close">;
  readonly inspectorPort: number;
  private readonly persistDir: string;
  private readonly port: number;
  private readonly options: StackOptions;

  private constructor(
    redis: Redis,
    bridge: Pick<UpstashBridge, "url" | "close">,
    persistDir: string,
    port: number,
    inspectorPort: number,
    options: StackOptions,
  ) {
    this.redis = redis;
    this.bridge = bridge;
    this.persistDir = persistDir;
    this.port = port;
    this.inspectorPort = inspectorPort;
    this.options = options;
  }

  static async start(options: StackOptions = {}): Promise<Stack> {
    const redis = await Redis.start();
    const bridge = options.bridgeProcess
      ? await spawnBridge(redis.port)
      : await startUpstashBridge({ port: 0, token: "bench-token", redisUrl: `redis://127.0.0.1:${redis.port}` });
    const persistDir = await mkdtemp(join(tmpdir(), "rtd-bench-"));
    const stack = new Stack(redis, bridge, persistDir, await freePort(), await freePort(), options);
    await stack.startWorker();
    return stack;
  }

  private async startWorker(): Promise<void> {
    const vars: Record<string, string> = {
      ...(this.options.log === "sqlite" ? {} : { UPSTASH_REDIS_REST_URL: this.bridge.url, UPSTASH_REDIS_REST_TOKEN: "bench-token" }),
      INGEST_TOKEN,
      DASHBOARDS: JSON.stringify([{ id: DASHBOARD, name: "Benchmark" }]),
      HEARTBEAT_SECONDS: String(this.options.heartbeatSeconds ?? 15),
      MAX_STREAMS_PER_DASHBOARD: String(this.options.maxStreams ?? 100_000),
      // Every simulated viewer comes from 127.0.0.1 (wrangler dev sets CF-Connecting-IP).
      MAX_STREAMS_PER_CLIENT: "1000000",
      RELAYS_PER_DASHBOARD: String(this.options.relays ?? 0),
      STREAMS_PER_RELAY: String(this.options.streamsPerRelay ?? 2000),
      ...this.options.vars,
    };
    const args = [
      "wrangler",
      "dev",
      "--port",
      String(this.port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      this.persistDir,
      "--inspector-port",
      String(this.inspectorPort),
    ];
    if (this.options.sink) args.push("-c", "wrangler.toml", "-c", "bench/sink/wrangler.toml");
    for (const config of this.options.configs ?? []) args.push("-c", config);
    for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
    this.wrangler = spawn("npx", args, {
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.wrangler.stdout!.on("data", (d: Buffer) => (this.log = (this.log + d).slice(-20_000)));
    this.wrangler.stderr!.on("data", (d: Buffer) => (this.log = (this.log + d).slice(-20_000)));
    this.url = `http://127.0.0.1:${this.port}`;
    await waitFor(async () => (await fetch(`${this.url}/api/health`)).ok, 60_000, `wrangler dev (log: ${this.log.slice(-2000)})`);
  }

  /** The end of wrangler's output (for a failure report). */
  logTail(chars = 3000): string {
    return this.log.slice(-chars);
  }

  /**
   * workerd processes under wrangler dev: `worker` runs the Worker and its Durable Objects;
   * `proxy` is wrangler's dev proxy in front of it (every request passes through it locally).
   */
  async workerdPids(): Promise<{ worker: number; proxy: number | null }> {
    const { stdout } = await exec("ps", ["-eo", "pid=,ppid=,args="]);
    const rows = stdout
      .trim()
      .split("\n")
      .map((l) => {
        const [pid, ppid, ...args] = l.trim().split(/\s+/);
        return { pid: pid!, ppid: ppid!, args: args.join(" ") };
      });
    const mine = new Set([String(this.wrangler!.pid)]);
    for (let grew = true; grew;) {
      grew = false;
      for (const r of rows) {
        if (mine.has(r.ppid) && !mine.has(r.pid)) {
          mine.add(r.pid);
          grew = true;
        }
      }
    }
    const workerd = rows.filter((r) => mine.has(r.pid) && /\/workerd serve /.test(r.args));
    const worker = workerd.find((r) => r.args.includes("--inspector-addr"));
    if (!worker) throw new Error("workerd process not found");
    const proxy = workerd.find((r) => r !== worker);
    return { worker: Number(worker.pid), proxy: proxy ? Number(proxy.pid) : null };
  }

  /**
   * The Worker's own workerd entry socket, behind wrangler's dev proxy: connecting there
   * measures the runtime without the dev tooling's extra hop.
   */
  async directUrl(): Promise<string> {
    const { worker } = await this.workerdPids();
    const { stdout } = await exec("ss", ["-ltnpH"]);
    const ports = [...stdout.matchAll(new RegExp(`127\\.0\\.0\\.1:(\\d+)\\s.*pid=${worker},`, "g"))].map((m) => Number(m[1]));
    for (const port of ports) {
      if (port === this.inspectorPort) continue;
      try {
        const r = await fetch(`http://127.0.0.1:${port}/api/dashboards`, { signal: AbortSignal.timeout(1000) });
        if (r.ok && (await r.text()).includes(DASHBOARD)) return `http://127.0.0.1:${port}`;
      } catch {
        // not the entry socket
      }
    }
    throw new Error(`no entry socket found among ${ports.join(", ")}`);
  }

  /** Resident memory in bytes of the Worker's workerd and of wrangler's dev proxy. */
  async rss(): Promise<{ worker: number; proxy: number }> {
    const read = async (pid: number | null) =>
      pid ? Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"))![1]) * 1024 : 0;
    const pids = await this.workerdPids();
    return { worker: await read(pids.worker), proxy: await read(pids.proxy) };
  }

  /** V8 heap in use in the Worker's isolate (after a GC), over the inspector protocol, or null. */
  async heapUsed(): Promise<number | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const used = await this.heapUsedOnce();
      if (used !== null) return used;
      await new Promise((r) => setTimeout(r, 500));
    }
    return null;
  }

  private async heapUsedOnce(): Promise<number | null> {
    try {
      const targets = this.options.sink
        ? await this.productIsolateTarget()
        : ((await (await fetch(`http://127.0.0.1:${this.inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[]);
      let total = 0;
      for (const t of targets) {
        total += await new Promise<number>((resolve, reject) => {
          // wrangler's inspector proxy wants an Origin; Node's WebSocket sends none by default.
          const ws = new WebSocket(t.webSocketDebuggerUrl, { headers: { Origin: "http://localhost" } } as never);
          const timer = setTimeout(() => reject(new Error("inspector timeout")), 5000);
          ws.onopen = () => {
            ws.send(JSON.stringify({ id: 0, method: "HeapProfiler.collectGarbage" }));
            ws.send(JSON.stringify({ id: 1, method: "Runtime.getHeapUsage" }));
          };
          ws.onmessage = (m) => {
            const msg = JSON.parse(String(m.data)) as { id?: number; result?: { usedSize: number } };
            if (msg.id === 1) {
              clearTimeout(timer);
              ws.close();
              resolve(msg.result?.usedSize ?? 0);
            }
          };
          ws.onerror = () => reject(new Error("inspector error"));
        });
      }
      return total;
    } catch {
      return null;
    }
  }

  /**
   * With a second Worker in the same workerd, wrangler's inspector proxy shows only one of the
   * two isolates; workerd's own inspector lists each by name: take the product's.
   */
  private async productIsolateTarget(): Promise<{ webSocketDebuggerUrl: string }[]> {
    const { worker } = await this.workerdPids();
    const { stdout } = await exec("ss", ["-ltnpH"]);
    const ports = [...stdout.matchAll(new RegExp(`127\\.0\\.0\\.1:(\\d+)\\s.*pid=${worker},`, "g"))].map((m) => Number(m[1]));
    for (const port of ports) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(1000) });
        if (!r.ok) continue;
        const targets = (await r.json()) as { id: string; webSocketDebuggerUrl: string }[];
        const product = targets.filter((t) => t.id === "core:user:realtime-dashboard");
        if (product.length > 0) return product;
      } catch {
        // not workerd's inspector
      }
    }
    throw new Error("workerd's inspector not found");
  }

  /** Open file descriptors of the Worker's workerd (each viewer socket is one). */
  async openFiles(): Promise<number> {
    const { worker } = await this.workerdPids();
    return (await readdir(`/proc/${worker}/fd`)).length;
  }

  /**
   * Viewers inside workerd: `n` streams opened by bench/sink through the product's own Worker
   * route (a service binding, no socket each). Their counts arrive on one response.
   */
  async sink(n: number, query = "history=0", perSecond = Infinity): Promise<Sink> {
    if (!this.options.sink) throw new Error("start the stack with { sink: true }");
    const controller = new AbortController();
    const path = `/api/dashboards/${DASHBOARD}/events?${query}`;
    // Miniflare's entry socket routes to the second Worker by name.
    const pace = Number.isFinite(perSecond) ? `&perSecond=${perSecond}` : "";
    const response = await fetch(`${await this.directUrl()}/sink?n=${n}&path=${encodeURIComponent(path)}${pace}`, {
      headers: { "MF-Route-Override": "rtd-bench-sink", "Accept-Encoding": "identity" },
      signal: controller.signal,
    });
    const sink: Sink = { open: 0, events: 0, errors: 0, close: () => controller.abort() };
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          const lines = buffer.split("\n");
          buffer = lines.pop()!;
          const last = lines.at(-1);
          if (last) [sink.open, sink.events, sink.errors] = last.split(" ").map(Number) as [number, number, number];
        }
      } catch {
        // aborted, or workerd went away
      }
    })();
    return sink;
  }

  async stats(): Promise<{ connectedClients: number; eventsDelivered: number; eventsPublished: number; relays: number }> {
    return (await fetch(`${this.url}/api/dashboards/${DASHBOARD}/stats`)).json() as never;
  }

  eventsUrl(query = "history=0"): string {
    return `${this.url}/api/dashboards/${DASHBOARD}/events?${query}`;
  }

  ingestUrl(): string {
    return `${this.url}/api/dashboards/${DASHBOARD}/metrics`;
  }

  /** Stops workerd (every object evicted, every stream cut) and starts it again on the same storage. */
  async restart(): Promise<{ downMs: number }> {
    const started = Date.now();
    await this.stopWorker();
    await this.startWorker();
    return { downMs: Date.now() - started };
  }

  private async stopWorker(): Promise<void> {
    if (!this.wrangler?.pid) return;
    const exited = new Promise((r) => this.wrangler!.once("exit", r));
    process.kill(-this.wrangler.pid, "SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    try {
      process.kill(-this.wrangler.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }

  async stop(): Promise<void> {
    await this.stopWorker();
    await this.bridge.close();
    this.redis.stop();
    await rm(this.persistDir, { recursive: true, force: true });
  }
}

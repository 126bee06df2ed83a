// Split mode: the dashboard's Durable Object in one workerd process and the Worker that serves
// viewers in another, as on Cloudflare (the object's thread does only the object's half of each
// delivery; the viewer's HTTP response is the edge's work). Two wrangler dev sessions
// (bench/split/serve.ts) share a private dev registry: the edge session's DASHBOARD/RELAY
// bindings name `script_name = "realtime-dashboard"`, so miniflare gives it a proxy object
// that reaches the real one over workerd's debug port (Cap'n Proto RPC between the processes,
// the same kind of hop as Cloudflare's Worker → Durable Object). Each process's CPU is read on
// its own. The Upstash bridge runs in its own process (see StackOptions.bridgeProcess).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../tools/free-port.ts";
import { DASHBOARD, INGEST_TOKEN, Redis, spawnBridge } from "../stack.ts";

const exec = promisify(execFile);

export interface Session {
  launcher: ChildProcess;
  /** The workerd that runs the user Worker (the one miniflare gives a --debug-port). */
  workerd: number;
  /** Its own entry socket, behind wrangler's dev proxy (as Stack.directUrl). */
  url: string;
}

export class SplitStack {
  readonly redis: Redis;
  readonly object: Session;
  readonly edge: Session;
  /** The relay objects' session, when the viewers are placed on relays. */
  readonly relays: Session | null;
  private readonly bridge: { close(): Promise<void> };
  private readonly dir: string;

  private constructor(
    redis: Redis,
    bridge: { close(): Promise<void> },
    dir: string,
    object: Session,
    edge: Session,
    relays: Session | null,
  ) {
    this.redis = redis;
    this.bridge = bridge;
    this.dir = dir;
    this.object = object;
    this.edge = edge;
    this.relays = relays;
  }

  /** The workerd of each session, by role, for CPU readings. */
  get pids(): Record<string, number> {
    return { object: this.object.workerd, ...(this.relays ? { relays: this.relays.workerd } : {}), worker: this.edge.workerd };
  }

  /**
   * @param eventLog the Upstash log through the bridge (the default here, as in the other
   *   scenarios) or the object's own SQLite
   * @param relays viewers go to this many relay objects, served by a third session (0: every
   *   viewer's stream comes from the dashboard's object, as without RELAYS_PER_DASHBOARD).
   */
  static async start({
    inspector,
    heartbeatSeconds = 5,
    relays = 0,
    eventLog = "upstash",
  }: {
    inspector: boolean;
    heartbeatSeconds?: number;
    relays?: number;
    eventLog?: "upstash" | "sqlite";
  }): Promise<SplitStack> {
    const redis = await Redis.start();
    const bridge = await spawnBridge(redis.port);
    const dir = await mkdtemp(join(tmpdir(), "rtd-split-"));
    const vars = JSON.stringify({
      // Without these the object keeps its event log in its own SQLite (the default).
      ...(eventLog === "upstash" ? { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: "bench-token" } : {}),
      INGEST_TOKEN,
      DASHBOARDS: JSON.stringify([{ id: DASHBOARD, name: "Benchmark" }]),
      HEARTBEAT_SECONDS: String(heartbeatSeconds),
      MAX_STREAMS_PER_DASHBOARD: "100000",
      // Every simulated viewer comes from 127.0.0.1 (wrangler dev sets CF-Connecting-IP).
      MAX_STREAMS_PER_CLIENT: "1000000",
      RELAYS_PER_DASHBOARD: String(relays),
      STREAMS_PER_RELAY: "100000",
    });
    // The object's session first: the edge resolves its bindings through the registry.
    const launched: ChildProcess[] = [];
    try {
      const object = await launch(relays ? "object+relays" : "object", dir, inspector, vars, launched);
      const relaySession = relays ? await launch("relays", dir, inspector, vars, launched) : null;
      const edge = await launch(relays ? "edge+relays" : "edge", dir, inspector, vars, launched);
      return new SplitStack(redis, bridge, dir, object, edge, relaySession);
    } catch (err) {
      for (const l of launched) await stopLauncher(l);
      await bridge.close();
      redis.stop();
      throw err;
    }
  }

  get url(): string {
    return this.edge.url;
  }

  async stats(): Promise<{ connectedClients: number; eventsDelivered: number }> {
    return (await fetch(`${this.url}/api/dashboards/${DASHBOARD}/stats`)).json() as never;
  }

  async stop(): Promise<void> {
    for (const s of [this.edge, this.relays, this.object]) if (s) await stopLauncher(s.launcher);
    await this.bridge.close();
    this.redis.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The product's entry answers /api/dashboards with the benchmark's dashboard in it. */
const READY = { path: "/api/dashboards", text: DASHBOARD };

export type Role = "object" | "edge" | "object+relays" | "edge+relays" | "relays" | "probe-object" | "probe-edge";

/** Starts one session (bench/split/serve.ts); `ready` tells its entry socket from the others. */
export async function launch(
  role: Role,
  dir: string,
  inspector: boolean,
  vars: string,
  launched: ChildProcess[],
  ready = READY,
): Promise<Session> {
  const inspectorArg = inspector ? String(await freePort()) : "off";
  const launcher = spawn(
    process.execPath,
    ["bench/split/serve.ts", role, String(await freePort()), join(dir, "registry"), join(dir, role), inspectorArg, vars],
    {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
    },
  );
  launched.push(launcher);
  let log = "";
  launcher.stderr!.on("data", (d: Buffer) => (log = (log + d).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} session did not start: ${log}`)), 90_000);
    launcher.stdout!.on("data", (d: Buffer) => {
      if (String(d).includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    launcher.once("exit", (code) => (clearTimeout(timer), reject(new Error(`${role} session exited (${code}): ${log}`))));
  });
  const workerd = await userWorkerd(launcher.pid!);
  return { launcher, workerd, url: await entryUrl(workerd, ready) };
}

async function userWorkerd(launcherPid: number): Promise<number> {
  // With the inspector on, wrangler may still be restarting it just after `ready`: look again.
  for (let attempt = 0; attempt < 50; attempt++) {
    const { stdout } = await exec("ps", ["-eo", "pid=,ppid=,args="], { maxBuffer: 16 << 20 });
    const rows = stdout
      .trim()
      .split("\n")
      .map((l) => {
        const [pid, ppid, ...args] = l.trim().split(/\s+/);
        return { pid: Number(pid), ppid: Number(ppid), args: args.join(" ") };
      });
    const found = rows.find((r) => r.ppid === launcherPid && /\/workerd serve /.test(r.args) && r.args.includes("--debug-port"));
    if (found) return found.pid;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the session's workerd was not found");
}

async function entryUrl(pid: number, ready: { path: string; text: string }): Promise<string> {
  let ports: number[] = [];
  // Sometimes the entry socket is listed a moment after `ready`: look again.
  for (let attempt = 0; attempt < 30; attempt++) {
    const { stdout } = await exec("ss", ["-ltnpH"], { maxBuffer: 16 << 20 });
    ports = [...stdout.matchAll(new RegExp(`127\\.0\\.0\\.1:(\\d+)\\s.*pid=${pid},`, "g"))].map((m) => Number(m[1]));
    for (const port of ports) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}${ready.path}`, { signal: AbortSignal.timeout(1000) });
        if (r.ok && (await r.text()).includes(ready.text)) return `http://127.0.0.1:${port}`;
      } catch {
        // the debug port or the inspector
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no entry socket among ${ports.join(", ")}`);
}

export async function stopLauncher(launcher: ChildProcess): Promise<void> {
  if (launcher.exitCode !== null || !launcher.pid) return;
  const exited = new Promise((r) => launcher.once("exit", r));
  process.kill(-launcher.pid, "SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  try {
    process.kill(-launcher.pid, "SIGKILL"); // the group: workerd children included
  } catch {
    // already gone
  }
}

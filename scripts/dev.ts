// `npm run dev`: the Worker (wrangler dev), the Vue client (Vite) and the cron publisher,
// started together. wrangler dev never fires crons by itself, so this triggers the scheduled
// handler at start and every minute after, and metrics flow within seconds.
//
//   npm run dev                 events kept in Durable Object SQLite (no account, no Redis)
//   npm run dev -- --upstash    events in Redis Streams through the local Upstash bridge
//   npm run dev -- --no-agent   without the agent that streams this machine to `this-machine`
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse as parseToml } from "smol-toml";
import { startUpstashBridge, type UpstashBridge } from "../tools/upstash-bridge/server.ts";

const { values } = parseArgs({
  allowNegative: true,
  options: {
    upstash: { type: "boolean", default: false },
    agent: { type: "boolean", default: true },
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    "worker-port": { type: "string", default: "8787" },
    "web-port": { type: "string", default: "5173" },
  },
});

const workerPort = Number(values["worker-port"]);
const webPort = Number(values["web-port"]);
const worker = `http://127.0.0.1:${workerPort}`;
const children: ChildProcess[] = [];
let bridge: UpstashBridge | null = null;

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Its exit leaves the rest running (otherwise it stops everything). */
  optional?: boolean;
  /** Lines not worth showing. */
  hide?: RegExp;
}

/**
 * Starts a child, its output prefixed `[name]`, in a process group of its own: npx, wrangler and
 * vite start processes of their own, and stop() ends each group whole, so nothing outlives it.
 */
function run(name: string, command: string, args: string[], { env = {}, optional = false, hide }: RunOptions = {}): ChildProcess {
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...env },
    detached: true,
  });
  const prefix = `[${name}] `;
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim() && !hide?.test(line)) process.stdout.write(prefix + line + "\n");
    });
  }
  child.on("exit", (code) => {
    if (!stopping && optional) console.error(`${prefix}exited with ${code}; the rest keeps running`);
    else if (!stopping) {
      console.error(`${prefix}exited with ${code}; stopping`);
      void stop(1);
    }
  });
  children.push(child);
  return child;
}

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/**
 * wrangler.toml's dashboards, with one real health check added to `demo`: this Worker's own
 * /api/health. It is added here and not shipped in wrangler.toml because a deployed Worker has
 * its own URL (and Cloudflare does not let a Worker fetch its own workers.dev URL).
 */
function withSelfCheck(): Record<string, unknown>[] {
  const toml = parseToml(readFileSync(new URL("../wrangler.toml", import.meta.url), "utf8")) as {
    vars: { DASHBOARDS: Record<string, unknown>[] };
  };
  return toml.vars.DASHBOARDS.map((d) =>
    d.id === "demo" && !d.checks
      ? { ...d, checks: [{ name: "worker", url: `${worker}/api/health`, intervalSeconds: 10, timeoutMs: 2000 }] }
      : d,
  );
}

/** Fires the Worker's scheduled() handler, as Cloudflare's cron would, once a minute. */
function triggerCron(): void {
  fetch(`${worker}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`)
    .then((r) => r.body?.cancel())
    .catch((err: unknown) => {
      if (!stopping) console.error("[cron] trigger failed:", err);
    });
}

let stopping = false;
/** Sends `signal` to a child's whole process group; false once no process of it is left. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-child.pid!, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

async function stop(code = 0): Promise<never> {
  if (stopping) return new Promise<never>(() => {});
  stopping = true;
  // Last started first, so the agent's last export still reaches the Worker; each gets a few
  // seconds (wrangler stops workerd), then is forced.
  for (const child of [...children].reverse()) {
    if (!signalGroup(child, "SIGTERM")) continue;
    const deadline = Date.now() + 5000;
    while (signalGroup(child, 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    signalGroup(child, "SIGKILL");
  }
  await bridge?.close();
  process.exit(code);
}
// A second Ctrl-C does not wait: the exit handler below still signals every group.
const onSignal = () => (stopping ? process.exit(1) : void stop());
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
// Also when this script dies of an error: the groups are detached and would otherwise stay.
process.on("exit", () => {
  for (const child of children) signalGroup(child, "SIGTERM");
});

const wranglerArgs = ["wrangler", "dev", "--port", String(workerPort), "--ip", "127.0.0.1"];
// Ingest works out of the box locally, with a token that is obviously not a production one,
// unless .dev.vars sets its own.
const devVars = existsSync(new URL("../.dev.vars", import.meta.url)) ? readFileSync(new URL("../.dev.vars", import.meta.url), "utf8") : "";
const devVarsToken = /^INGEST_TOKEN\s*=\s*(.*?)\s*$/m.exec(devVars)?.[1]?.replace(/^(["'])(.*)\1$/, "$2");
const ingestToken = devVarsToken ? null : "local-dev-ingest-token";
if (ingestToken) wranglerArgs.push("--var", `INGEST_TOKEN:${ingestToken}`);
const dashboards = withSelfCheck();
wranglerArgs.push("--var", `DASHBOARDS:${JSON.stringify(dashboards)}`);
if (values.upstash) {
  bridge = await startUpstashBridge({ port: 0, token: "dev-token", redisUrl: values.redis });
  console.log(`[bridge] Upstash REST bridge on ${bridge.url} over ${values.redis}`);
  wranglerArgs.push("--var", `UPSTASH_REDIS_REST_URL:${bridge.url}`, "--var", "UPSTASH_REDIS_REST_TOKEN:dev-token");
}
const agentDashboard = "this-machine";
// The agent posts every second; wrangler's line for each accepted post would bury the rest.
run("worker", "npx", wranglerArgs, { hide: new RegExp(`POST /api/dashboards/${agentDashboard}/otlp/v1/metrics\\S* \\S*2\\d\\d\\b`) });
await waitFor(`${worker}/api/health`, 60_000);
triggerCron();
setInterval(triggerCron, 60_000);

// This machine's CPU, memory, load and network on `this-machine`, through the OTLP route, as
// any real host would send them. Not fatal if it stops: the rest of the dev stack is still useful.
const startAgent = values.agent && dashboards.some((d) => d.id === agentDashboard);
if (startAgent) {
  run(
    "agent",
    process.execPath,
    [fileURLToPath(new URL("../tools/agent/cli.ts", import.meta.url)), "--url", worker, "--dashboard", agentDashboard],
    {
      env: { INGEST_TOKEN: ingestToken ?? devVarsToken },
      optional: true,
    },
  );
}

const hasWeb = existsSync(new URL("../web/vite.config.ts", import.meta.url));
if (hasWeb) {
  run("web", "npx", ["vite", "--config", "web/vite.config.ts", "--port", String(webPort), "--strictPort"], {
    env: { API_ORIGIN: worker },
  });
  await waitFor(`http://127.0.0.1:${webPort}/`, 60_000);
}
console.log(`\n  Dashboard: ${hasWeb ? `http://localhost:${webPort}/` : `${worker}/api/dashboards/demo/events`}`);
console.log(`  API:       ${worker}/api/dashboards`);
if (startAgent)
  console.log(
    `  Agent:     this machine → ${hasWeb ? `http://localhost:${webPort}/?dashboard=${agentDashboard}` : `${worker}/api/dashboards/${agentDashboard}/events`}`,
  );
if (ingestToken) {
  console.log(`  Ingest:    curl -X POST ${worker}/api/dashboards/demo/metrics -H "Authorization: Bearer ${ingestToken}" \\`);
  console.log(
    `               -H "Content-Type: application/json" -d '{"cpu":97,"memory":60,"rps":900,"activeConnections":80,"errorRate":0.5}'`,
  );
}
console.log("");

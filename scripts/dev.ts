// `npm run dev`: the Worker (wrangler dev), the Vue client (Vite) and the cron publisher,
// started together. wrangler dev never fires crons by itself, so this triggers the scheduled
// handler at start and every minute after, and metrics flow within seconds.
//
//   npm run dev                 events kept in Durable Object SQLite (no account, no Redis)
//   npm run dev -- --upstash    events in Redis Streams through the local Upstash bridge
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parse as parseToml } from "smol-toml";
import { startUpstashBridge, type UpstashBridge } from "../tools/upstash-bridge/server.ts";

const { values } = parseArgs({
  options: {
    upstash: { type: "boolean", default: false },
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

function run(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...env },
  });
  const prefix = `[${name}] `;
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) process.stdout.write(prefix + line + "\n");
    });
  }
  child.on("exit", (code) => {
    if (!stopping) {
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
  const toml = parseToml(readFileSync(new URL("../wrangler.toml", import.meta.url), "utf8")) as { vars: { DASHBOARDS: Record<string, unknown>[] } };
  return toml.vars.DASHBOARDS.map((d) =>
    d.id === "demo" && !d.checks ? { ...d, checks: [{ name: "worker", url: `${worker}/api/health`, intervalSeconds: 10, timeoutMs: 2000 }] } : d,
  );
}

/** Fires the Worker's scheduled() handler, as Cloudflare's cron would, once a minute. */
function triggerCron(): void {
  fetch(`${worker}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`)
    .then((r) => r.body?.cancel())
    .catch((err: unknown) => console.error("[cron] trigger failed:", err));
}

let stopping = false;
async function stop(code = 0): Promise<never> {
  stopping = true;
  for (const child of children) child.kill("SIGTERM");
  await bridge?.close();
  process.exit(code);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());

const wranglerArgs = ["wrangler", "dev", "--port", String(workerPort), "--ip", "127.0.0.1"];
// Ingest works out of the box locally, with a token that is obviously not a production one,
// unless .dev.vars sets its own.
const devVars = existsSync(new URL("../.dev.vars", import.meta.url)) ? readFileSync(new URL("../.dev.vars", import.meta.url), "utf8") : "";
const ingestToken = /^INGEST_TOKEN=/m.test(devVars) ? null : "local-dev-ingest-token";
if (ingestToken) wranglerArgs.push("--var", `INGEST_TOKEN:${ingestToken}`);
wranglerArgs.push("--var", `DASHBOARDS:${JSON.stringify(withSelfCheck())}`);
if (values.upstash) {
  bridge = await startUpstashBridge({ port: 0, token: "dev-token", redisUrl: values.redis });
  console.log(`[bridge] Upstash REST bridge on ${bridge.url} over ${values.redis}`);
  wranglerArgs.push("--var", `UPSTASH_REDIS_REST_URL:${bridge.url}`, "--var", "UPSTASH_REDIS_REST_TOKEN:dev-token");
}
run("worker", "npx", wranglerArgs);
await waitFor(`${worker}/api/health`, 60_000);
triggerCron();
setInterval(triggerCron, 60_000);

const hasWeb = existsSync(new URL("../web/vite.config.ts", import.meta.url));
if (hasWeb) {
  run("web", "npx", ["vite", "--config", "web/vite.config.ts", "--port", String(webPort), "--strictPort"], {
    API_ORIGIN: worker,
  });
  await waitFor(`http://127.0.0.1:${webPort}/`, 60_000);
}
console.log(`\n  Dashboard: ${hasWeb ? `http://localhost:${webPort}/` : `${worker}/api/dashboards/demo/events`}`);
console.log(`  API:       ${worker}/api/dashboards`);
if (ingestToken) {
  console.log(`  Ingest:    curl -X POST ${worker}/api/dashboards/demo/metrics -H "Authorization: Bearer ${ingestToken}" \\`);
  console.log(`               -H "Content-Type: application/json" -d '{"cpu":97,"memory":60,"rps":900,"activeConnections":80,"errorRate":0.5}'`);
}
console.log("");

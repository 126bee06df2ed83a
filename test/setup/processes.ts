// The processes Node and browser tests start beside them (wrangler dev, Vite, Prometheus,
// node_exporter…): each in its own process group, so stop() ends its children too; each on a
// free port with its own state directory, so nothing here meets another run.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../tools/free-port.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export interface ProcOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs `node <script> …args` (Node's own binary) in its own process group. */
export function startProcess(name: string, script: string, args: string[], options: ProcOptions = {}): Proc {
  return startCommand(name, process.execPath, [script, ...args], options);
}

/**
 * Runs `command …args` in its own process group, keeping the end of its output for error
 * messages. stop() sends SIGTERM to the group, SIGKILL 5 s later if it is still there.
 */
export function startCommand(name: string, command: string, args: string[], options: ProcOptions = {}): Proc {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  child.on("error", (err) => keep(Buffer.from(`\n${name}: ${err.message}\n`))); // e.g. not installed
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        return;
      }
      const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 5000).unref());
      if ((await Promise.race([exited, timeout])) === "timeout") {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
    },
  };
}

/** Resolves once `url` answers with a status `ok` accepts; fails early if `proc` exits. */
export async function waitForHttp(url: string, proc: Proc, timeoutMs = 60_000, ok = (status: number) => status < 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null)
      throw new Error(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}):\n${proc.output().slice(-4000)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
      await response.body?.cancel();
      if (ok(response.status)) return;
      last = `status ${response.status}`;
    } catch (err) {
      last = String(err);
    }
    await sleep(250);
  }
  throw new Error(`${proc.name}: ${url} not ready within ${timeoutMs / 1000} s (${last}):\n${proc.output().slice(-4000)}`);
}

export interface Server {
  url: string;
  port: number;
  proc: Proc;
  stop: () => Promise<void>;
}

/**
 * `wrangler dev` of the Worker on 127.0.0.1 (a free port unless given), with `vars` as
 * `--var`s and Durable Object state in a temp dir of its own (removed by stop()); ready once
 * GET /api/dashboards answers 200.
 */
export async function startWranglerDev(
  options: { vars?: Record<string, string>; port?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Server> {
  const port = options.port ?? (await freePort());
  const persist = await tempDir("rtd-worker-state-");
  const args = ["dev", "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(await freePort()), "--persist-to", persist];
  for (const [key, value] of Object.entries(options.vars ?? {})) args.push("--var", `${key}:${value}`);
  const proc = startProcess("wrangler dev", WRANGLER, args, { env: options.env });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await proc.stop();
    await rm(persist, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`${url}/api/dashboards`, proc, 90_000, (s) => s === 200);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, proc, stop };
}

// Starts and stops the pieces the browser tests (and scripts/screenshot.ts) run against, each
// on its own free port, with its own state directory and its own wrangler dev registry, so
// nothing here meets a developer's `npm run dev` or another test run.
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import type { DashboardStats } from "../../contract/index.ts";
import { freePort } from "../../tools/free-port.ts";
import { ROOT, sleep, startProcess, startWranglerDev, tempDir, waitForHttp, WRANGLER, type Server } from "../setup/processes.ts";

export { ROOT, sleep, startProcess, tempDir, waitForHttp, type Proc, type Server } from "../setup/processes.ts";

const VITE = join(ROOT, "node_modules/vite/bin/vite.js");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** `wrangler dev` of the Worker, registered in `registry` (WRANGLER_REGISTRY_PATH) for service bindings. */
export async function startWorker(registry: string, vars: Record<string, string> = {}, port?: number): Promise<Server> {
  const worker = await startWranglerDev({ vars, port, env: { WRANGLER_REGISTRY_PATH: registry } });
  try {
    // The Pages Function finds the Worker through this file.
    const deadline = Date.now() + 15_000;
    while (!existsSync(join(registry, "realtime-dashboard"))) {
      if (Date.now() > deadline) throw new Error(`the Worker never registered in ${registry}:\n${worker.proc.output().slice(-3000)}`);
      await sleep(200);
    }
  } catch (err) {
    await worker.stop();
    throw err;
  }
  return worker;
}

/** Builds the client into `outDir` (the same build `npm run build:web` makes). */
export async function buildWeb(outDir: string): Promise<void> {
  // NODE_ENV=test (vitest's) would give Vue's development build, warnings and all, not what Pages serves.
  const proc = startProcess("vite build", VITE, ["build", "--config", "web/vite.config.ts", "--outDir", outDir, "--emptyOutDir"], {
    env: { NODE_ENV: "production" },
  });
  const code = await new Promise<number | null>((resolve) => proc.child.once("exit", resolve));
  if (code !== 0) throw new Error(`vite build failed (${code}):\n${proc.output().slice(-4000)}`);
}

/** `wrangler pages dev` of the built site with web/functions, its API binding resolved through `registry`. */
export async function startPages(registry: string, dir: string): Promise<Server> {
  const port = await freePort();
  const persist = await tempDir("rtd-web-pages-state-");
  // Run from web/: Pages reads web/wrangler.toml and web/functions from the working directory.
  const proc = startProcess(
    "wrangler pages dev",
    WRANGLER,
    [
      "pages",
      "dev",
      dir,
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(await freePort()),
      "--persist-to",
      persist,
    ],
    { cwd: join(ROOT, "web"), env: { WRANGLER_REGISTRY_PATH: registry } },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await proc.stop();
    await rm(persist, { recursive: true, force: true });
  };
  try {
    // 200 from the API means the Function is up and its service binding reaches the Worker.
    await waitForHttp(`${url}/api/dashboards`, proc, 90_000, (s) => s === 200);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, proc, stop };
}

/** The Vite dev server, proxying /api to `apiOrigin` (what `npm run dev` runs). */
export async function startVite(apiOrigin: string): Promise<Server> {
  const port = await freePort();
  const proc = startProcess("vite", VITE, ["--config", "web/vite.config.ts", "--port", String(port), "--strictPort"], {
    env: { API_ORIGIN: apiOrigin },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/`, proc, 60_000, (s) => s === 200);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, port, proc, stop: () => proc.stop() };
}

/**
 * Fires the Worker's scheduled() handler: 1 Hz samples on every dashboard for the next minute.
 * Not awaited: wrangler answers only when the handler returns, a minute later.
 */
export function triggerCron(workerUrl: string): void {
  fetch(`${workerUrl}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`)
    .then((response) => response.body?.cancel())
    .catch(() => {}); // the Worker was stopped while the handler ran
}

export async function stats(workerUrl: string, dashboard: string): Promise<DashboardStats> {
  const response = await fetch(`${workerUrl}/api/dashboards/${dashboard}/stats`, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`stats ${dashboard}: ${response.status} ${await response.text()}`);
  return (await response.json()) as DashboardStats;
}

/**
 * A TCP proxy in front of a server, to drop connections the way a network or a server does
 * (Chromium's offline emulation does not cut an open EventSource). Records request heads.
 */
export interface TcpProxy {
  port: number;
  url: string;
  /** First line and headers of every HTTP request that went through. */
  requests: string[];
  /** Ends every open connection now. */
  cutAll: () => void;
  /** While blocked, new connections are closed at once (the server looks unreachable). */
  setBlocked: (blocked: boolean) => void;
  close: () => Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  let blocked = false;
  const server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    client.on("data", (chunk: Buffer) => {
      const text = chunk.toString("latin1");
      if (/^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/.test(text)) requests.push(text.slice(0, Math.max(0, text.indexOf("\r\n\r\n")) || 2000));
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    cutAll: () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    setBlocked: (b) => (blocked = b),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Browser {
  context: BrowserContext;
  close: () => Promise<void>;
}

/** Debian's Chromium, headless, with a new empty profile. */
export async function launchBrowser(
  options: { colorScheme?: "dark" | "light"; viewport?: { width: number; height: number }; deviceScaleFactor?: number } = {},
): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the browser tests need Chromium at ${CHROMIUM}: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH`);
  }
  const profile = await tempDir("rtd-chromium-");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: options.viewport ?? { width: 1366, height: 900 },
    deviceScaleFactor: options.deviceScaleFactor ?? 1,
    colorScheme: options.colorScheme ?? "dark",
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Polls `read` until `done` holds (for hooks, where expect.poll is not available). */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/** A `wrangler dev` with `vars`, the Vite dev server in front of it, and Chromium: what most browser tests run against. */
export interface DevStack {
  worker: Server;
  vite: Server;
  browser: Browser;
  /** Stops whatever started, in reverse order; safe to call after a failed start. */
  stop: () => Promise<void>;
}

export async function startDevStack(
  name: string,
  vars: Record<string, string>,
  browserOptions?: Parameters<typeof launchBrowser>[0],
): Promise<DevStack> {
  const registry = await tempDir(`rtd-browser-${name}-registry-`);
  const started: Partial<DevStack> = {};
  const stop = async () => {
    await started.browser?.close();
    await started.vite?.stop();
    await started.worker?.stop();
    await rm(registry, { recursive: true, force: true });
  };
  try {
    const [worker, browser] = await Promise.allSettled([startWorker(registry, vars), launchBrowser(browserOptions)]);
    if (worker.status === "fulfilled") started.worker = worker.value;
    if (browser.status === "fulfilled") started.browser = browser.value;
    for (const r of [worker, browser]) if (r.status === "rejected") throw r.reason;
    started.vite = await startVite(started.worker!.url);
  } catch (err) {
    await stop();
    throw err;
  }
  return { worker: started.worker!, vite: started.vite!, browser: started.browser!, stop };
}

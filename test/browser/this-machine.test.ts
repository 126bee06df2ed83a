// `npm run dev` as a newcomer runs it (scripts/dev.ts, on free ports): the agent it starts
// streams this machine's real CPU, memory, load and network through the OTLP route, and the
// `this-machine` dashboard in headless Chromium moves with them. Then stopping `npm run dev`
// (SIGTERM to the script alone, as `kill` would) leaves no agent behind.
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../tools/free-port.ts";
import { launchBrowser, sleep, startProcess, tempDir, until, type Browser, type Proc } from "./stack.ts";

const METRICS = ["cpu_user", "cpu_system", "memory_used", "load_1m", "net_in", "net_out"];

let registry: string;
let dev: Proc;
let workerPort: number;
let webPort: number;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  registry = await tempDir("rtd-browser-this-machine-registry-");
  [workerPort, webPort] = [await freePort(), await freePort()];
  // Its own wrangler dev registry, so its Worker meets no other test's or developer's.
  dev = startProcess("npm run dev", "scripts/dev.ts", ["--worker-port", String(workerPort), "--web-port", String(webPort)], {
    env: { WRANGLER_REGISTRY_PATH: registry },
  });
  const launched = launchBrowser();
  try {
    await until(
      async () => dev.output(),
      (out) => out.includes("Dashboard:") || dev.child.exitCode !== null,
      120_000,
      "npm run dev starting",
    );
    if (dev.child.exitCode !== null) throw new Error(`npm run dev exited (${dev.child.exitCode}):\n${dev.output().slice(-4000)}`);
  } finally {
    browser = await launched;
  }
}, 150_000);

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await dev?.stop(); // the whole group, whatever the test left
  if (registry) await rm(registry, { recursive: true, force: true });
});

/** Every card's value, by metric (NaN while it has none). */
const values = (p: Page) =>
  p
    .locator(".card")
    .evaluateAll((cards) =>
      Object.fromEntries(cards.map((c) => [c.getAttribute("data-metric"), Number(c.getAttribute("data-value") || NaN)])),
    );

/** Processes whose command line names this test's ports (wrangler, workerd, vite, the agent). */
function processesOfThisTest(): string[] {
  const port = new RegExp(`(--port |:)(${workerPort}|${webPort})\\b`);
  return execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => port.test(line));
}

/** The agents (tools/agent/cli.ts) posting to this test's Worker. */
const agentPids = () =>
  processesOfThisTest()
    .filter((line) => line.includes("tools/agent/cli.ts"))
    .map((line) => Number(line.trim().split(/\s+/)[0]));

describe("npm run dev: this machine, live", () => {
  it("starts the agent, and the this-machine dashboard moves with real values", async () => {
    await expect.poll(() => dev.output(), { timeout: 10_000 }).toContain("[agent] agent:");
    expect(agentPids()).toHaveLength(1);

    page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${webPort}/?dashboard=this-machine`);
    await page.waitForSelector('.app[data-state="live"]', { timeout: 30_000 });
    expect(await page.locator(".card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-metric")))).toEqual(METRICS);
    await expect.poll(() => page.locator('.card[data-metric="cpu_user"] h2').textContent()).toBe("CPU user");

    // Network rates need two points of a counter; everything has a value within a few seconds.
    await expect.poll(async () => Object.values(await values(page)).filter(Number.isNaN).length, { timeout: 20_000 }).toBe(0);
    const seen: Record<string, number>[] = [];
    for (let i = 0; i < 8; i++) {
      seen.push(await values(page));
      await sleep(750);
    }
    for (const v of seen) {
      // Averaged over logical CPUs; a sample period that ran a little long can pass 100 slightly.
      expect(v.cpu_user).toBeGreaterThanOrEqual(0);
      expect(v.cpu_user).toBeLessThan(110);
      expect(v.cpu_system).toBeGreaterThanOrEqual(0);
      expect(v.cpu_user! + v.cpu_system!).toBeGreaterThan(0); // this machine runs wrangler, vite and Chromium
      expect(v.memory_used).toBeGreaterThan(0);
      expect(v.memory_used).toBeLessThanOrEqual(100);
      expect(v.load_1m).toBeGreaterThanOrEqual(0);
      expect(v.net_in).toBeGreaterThanOrEqual(0);
      expect(v.net_out).toBeGreaterThanOrEqual(0);
    }
    // This machine's, not made up: memory as Node reads it now (other processes come and go),
    // the 1-minute load as the kernel reports it (it moves slowly).
    const last = seen.at(-1)!;
    expect(Math.abs(last.memory_used! - (1 - freemem() / totalmem()) * 100)).toBeLessThan(10);
    expect(Math.abs(last.load_1m! - loadavg()[0]!)).toBeLessThan(Math.max(1.5, loadavg()[0]! * 0.5));
    // Real values move: CPU (one decimal) and memory change from second to second.
    const distinct = (m: string) => new Set(seen.map((v) => v[m])).size;
    expect(distinct("cpu_user") + distinct("cpu_system") + distinct("memory_used")).toBeGreaterThan(4);
    // A line per logical CPU (`by = "system.cpu.logical_number"`) and per network interface (`by = "system.device"`).
    const lines = (metric: string) => page.locator(`.chart.split[data-metric="${metric}"]`).getAttribute("data-lines");
    await expect.poll(() => lines("cpu_user"), { timeout: 10_000 }).toBe(String(Math.min(cpus().length, 100)));
    expect(Number(await lines("net_in"))).toBeGreaterThan(0);
    const legend = await page
      .locator('.chart.split[data-metric="cpu_user"] .legend-item')
      .evaluateAll((items) => items.map((i) => i.getAttribute("data-series")));
    expect(legend.sort((a, b) => Number(a) - Number(b))).toEqual(
      cpus()
        .map((_, i) => String(i))
        .slice(0, 100),
    );
    // The agent's exports are quiet when they work, and so is wrangler about them.
    expect(dev.output()).not.toContain("export failed");
    expect(dev.output()).not.toMatch(/otlp\/v1\/metrics\S* \S*200/);
  });

  it("stopping npm run dev stops the agent", async () => {
    const [pid] = agentPids();
    expect(pid).toBeGreaterThan(0);
    process.kill(dev.child.pid!, "SIGTERM"); // the script alone, not its process group
    const [code] = (await once(dev.child, "exit")) as [number | null];
    expect(code).toBe(0);
    expect(dev.output()).toContain("[agent] agent: stopped (SIGTERM)");
    expect(agentPids()).toEqual([]);
    // Nothing of what it started is left: wrangler, workerd and vite are gone too.
    expect(processesOfThisTest()).toEqual([]);
  });
});

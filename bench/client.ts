// `npm run bench:client [-- --quick]`: what the page costs the viewer's machine. The production
// build behind `wrangler pages dev` (as Pages serves it) and a `wrangler dev` of the Worker, a
// five-metric dashboard seeded with 24 h of history through ingest, headless Chromium:
//   - page load → five full 24 h charts (navigation start to every band drawn), cold and warm;
//   - the main thread's busy share (DevTools `Performance.getMetrics` TaskDuration) over a minute
//     at 1 event/s, in the 24 h window and the 15-minute live window;
//   - the JS heap after a forced GC, once a minute for ten minutes (one with --quick), 24 h window.
// Prints a table and rewrites bench/results/client.json and the client section of docs/BENCHMARKS.md.
import { rm } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { CDPSession, Page } from "playwright-core";
import { buildWeb, launchBrowser, startPages, startWorker, tempDir } from "../test/browser/stack.ts";
import { machine, writeResults, writeSection } from "./report.ts";

const { values: args } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const TOKEN = "bench-client-ingest-token-0123456789";
const METRICS = ["a", "b", "c", "d", "e"];
const BENCH = {
  id: "bench",
  name: "Bench",
  simulate: false,
  metrics: METRICS.map((name) => ({ name, label: name.toUpperCase(), decimals: 1, min: 0, max: 100, warning: 70, critical: 90 })),
};
const DAY_MS = 86_400_000;
const LOADS = 5;
const BUSY_SECONDS = args.quick ? 20 : 60;
const HEAP_MINUTES = args.quick ? 1 : 10;
const TARGET = { loadMs: 1000, busyPercent: 5 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (v: number) => Math.round(v * 10) / 10;

const registry = await tempDir("rtd-bench-client-registry-");
const dist = await tempDir("rtd-bench-client-dist-");
const [worker] = await Promise.all([
  startWorker(registry, { INGEST_TOKEN: TOKEN, RETENTION_SECONDS: "90000", DASHBOARDS: JSON.stringify([BENCH]) }),
  buildWeb(dist),
]);
const pages = await startPages(registry, dist);
const browser = await launchBrowser();

async function ingest(samples: Record<string, number | string>[]): Promise<void> {
  const r = await fetch(`${worker.url}/api/dashboards/bench/metrics`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(samples),
  });
  if (r.status !== 202) throw new Error(`ingest: ${r.status} ${await r.text()}`);
}

/**
 * One sample with every metric, each second, while `seconds` pass: a random walk between 40 and
 * 60, a system in normal operation (no alert every other second, which would measure the alert
 * feed rather than the charts).
 */
let walk = 50;
async function publishFor(seconds: number): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    walk = Math.min(60, Math.max(40, walk + (Math.random() - 0.5) * 4));
    const v = Math.round(walk * 10) / 10;
    await Promise.all([ingest([Object.fromEntries(METRICS.map((m) => [m, v]))]), sleep(1000)]);
  }
}

/**
 * In every page: note `performance.now()` (ms since navigation) the moment five 24 h charts have
 * their bands, from a MutationObserver, so the figure is the page's own and not how often a
 * poll from outside gets a turn.
 */
await browser.context.addInitScript(() => {
  const w = window as unknown as { __fullAt?: number };
  const observer = new MutationObserver(() => {
    const full = [...document.querySelectorAll<HTMLElement>(".chart.history")].filter((c) => Number(c.dataset.banded) > 250).length === 5;
    if (!full) return;
    w.__fullAt = performance.now();
    observer.disconnect();
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-banded"] });
});
const fullCharts = async (tab: Page): Promise<number> => {
  const handle = await tab.waitForFunction(() => (window as unknown as { __fullAt?: number }).__fullAt, null, { timeout: 60_000 });
  return Math.round((await handle.jsonValue()) as number);
};

async function metric(cdp: CDPSession, name: string): Promise<number> {
  const { metrics } = (await cdp.send("Performance.getMetrics")) as { metrics: { name: string; value: number }[] };
  return metrics.find((m) => m.name === name)!.value;
}

const results: Record<string, unknown> = {};
try {
  // 24 h up to two minutes ago, a sample a minute: every 5-minute bucket of the 24 h chart has a band.
  const now = Date.now();
  const seed: Record<string, number | string>[] = [];
  for (let t = now - DAY_MS, i = 0; t < now - 120_000; t += 60_000, i++) {
    const v = Math.round((50 + 10 * Math.sin(i / 40) + (i % 2 ? 8 : -8)) * 10) / 10;
    seed.push({ ...Object.fromEntries(METRICS.map((m) => [m, v])), timestamp: new Date(t).toISOString() });
  }
  for (let i = 0; i < seed.length; i += 100) await ingest(seed.slice(i, i + 100));
  await ingest([Object.fromEntries(METRICS.map((m) => [m, 50]))]);

  // Page load: a new tab each time, in front (a background tab's timers are throttled). The first
  // is cold (empty HTTP cache); the others find the hashed assets cached, as a returning viewer does.
  const loads: { totalMs: number; seriesDoneMs: number; scriptsDoneMs: number }[] = [];
  for (let run = 0; run < LOADS; run++) {
    const tab = await browser.context.newPage();
    await tab.bringToFront();
    await tab.goto(`${pages.url}/?dashboard=bench&window=1440`);
    const totalMs = await fullCharts(tab);
    loads.push({
      totalMs,
      ...(await tab.evaluate(() => {
        const resources = performance.getEntriesByType("resource") as PerformanceResourceTiming[];
        const series = resources.filter((r) => r.name.includes("/series")).map((r) => r.responseEnd);
        const scripts = resources.filter((r) => r.name.endsWith(".js")).map((r) => r.responseEnd);
        return { seriesDoneMs: Math.round(Math.max(0, ...series)), scriptsDoneMs: Math.round(Math.max(0, ...scripts)) };
      })),
    });
    await tab.close();
  }
  results.loads = loads;
  console.log("page load → five full 24 h charts:", loads);

  const page = await browser.context.newPage();
  await page.bringToFront();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  for (const window of ["1440", "15"]) {
    await page.goto(`${pages.url}/?dashboard=bench&window=${window}`);
    await page.locator(".chart").first().waitFor();
    await publishFor(10); // warm up: JIT, the charts' first redraws
    const [busy0, t0] = [await metric(cdp, "TaskDuration"), Date.now()];
    await publishFor(BUSY_SECONDS);
    const [busy1, t1] = [await metric(cdp, "TaskDuration"), Date.now()];
    results[`busyPercent:${window}`] = round1(((busy1 - busy0) / ((t1 - t0) / 1000)) * 100);
    console.log(`main thread busy, window=${window}:`, results[`busyPercent:${window}`], "%");
  }

  // The JS heap over HEAP_MINUTES of live 24 h charts, after a forced GC each minute.
  await page.goto(`${pages.url}/?dashboard=bench&window=1440`);
  await fullCharts(page);
  const heapMB: number[] = [];
  const heap = async () => {
    await cdp.send("HeapProfiler.collectGarbage");
    heapMB.push(round1((await metric(cdp, "JSHeapUsedSize")) / 1e6));
  };
  await publishFor(10);
  await heap();
  for (let m = 0; m < HEAP_MINUTES; m++) {
    await publishFor(60);
    await heap();
  }
  results.heapMB = heapMB;
  console.log("JS heap after GC, each minute (MB):", heapMB);
  await page.close();
} finally {
  await browser.close();
  await pages.stop();
  await worker.stop();
  await rm(registry, { recursive: true, force: true });
  await rm(dist, { recursive: true, force: true });
}

const m = machine();
const loads = results.loads as { totalMs: number; seriesDoneMs: number }[];
const warm = loads.slice(1).map((l) => l.totalMs);
const heapMB = results.heapMB as number[];
const busy24 = results["busyPercent:1440"] as number;
const busy15 = results["busyPercent:15"] as number;
const met = (ok: boolean) => (ok ? "met" : "**not met**");
const table = [
  "| | measured | target |",
  "|---|---|---|",
  `| page load → five full 24 h charts, cold (empty cache) | ${loads[0]!.totalMs} ms (the \`/series\` answer in at ${loads[0]!.seriesDoneMs} ms) | ≤ ${TARGET.loadMs} ms — ${met(loads[0]!.totalMs <= TARGET.loadMs)} |`,
  `| the same, warm (${warm.length} new tabs) | ${Math.min(...warm)}–${Math.max(...warm)} ms | ≤ ${TARGET.loadMs} ms — ${met(Math.max(...warm) <= TARGET.loadMs)} |`,
  `| main thread busy, 24 h window, 5 cards + 5 charts, 1 event/s (${BUSY_SECONDS} s) | ${busy24} % of a core | ≤ ${TARGET.busyPercent} % — ${met(busy24 <= TARGET.busyPercent)} |`,
  `| the same, 15-minute live window | ${busy15} % of a core | ≤ ${TARGET.busyPercent} % — ${met(busy15 <= TARGET.busyPercent)} |`,
  `| JS heap after GC, each minute for ${HEAP_MINUTES} min, 24 h window | ${heapMB.join(" → ")} MB | flat |`,
].join("\n");
console.log(table);

const command = `npm run bench:client${args.quick ? " -- --quick" : ""}`;
await writeResults("client", { command, machine: m, results });
await writeSection(
  "client",
  [
    `\`${command}\` on ${m.cpu}, ${m.memory}, Node ${m.node}, headless Chromium (Debian's), ${m.date}, load average ${m.loadAverage} at the end.`,
    "",
    table,
    "",
    "Raw figures: `bench/results/client.json`.",
  ].join("\n"),
);

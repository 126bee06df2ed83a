// Long windows from the rollups: a `wrangler dev` that keeps 25 hours (RETENTION_SECONDS), a
// dashboard nothing simulates, 24 hours of history seeded through the ingest API (two samples
// per 5 minutes, far apart, so every bucket has a band), then the page on the Vite dev server:
// 24 h draws the band, a live sample moves the last point, a drag zooms (and Back undoes it).
import { rm } from "node:fs/promises";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, startVite, startWorker, tempDir, type Browser, type Server } from "./stack.ts";

const INGEST_TOKEN = "browser-test-ingest-token-history-0123456789";
const DASHBOARD = { id: "hist", name: "History", simulate: false, metrics: [{ name: "load", label: "Load", unit: "%", decimals: 1, min: 0, max: 100, warning: 70, critical: 90 }] };
/** For the client-side measurements (HISTORY_BENCH=1): five metrics, every one a card and a chart. */
const BENCH = { id: "bench", name: "Bench", simulate: false, metrics: ["a", "b", "c", "d", "e"].map((name) => ({ name, label: name.toUpperCase(), decimals: 1, min: 0, max: 100, warning: 70, critical: 90 })) };
const BENCHING = Boolean(process.env.HISTORY_BENCH);
const DAY_MS = 86_400_000;
const SEED_EVERY_MS = 150_000;

let registry: string;
let worker: Server;
let vite: Server;
let browser: Browser;
let page: Page;

async function ingest(samples: Record<string, number | string>[], dashboard = "hist"): Promise<void> {
  const response = await fetch(`${worker.url}/api/dashboards/${dashboard}/metrics`, {
    method: "POST",
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(samples),
  });
  expect(response.status, await response.clone().text()).toBe(202);
}

beforeAll(async () => {
  registry = await tempDir("rtd-browser-history-registry-");
  const [startedWorker, launched] = await Promise.allSettled([
    startWorker(registry, { INGEST_TOKEN, RETENTION_SECONDS: "90000", DASHBOARDS: JSON.stringify([DASHBOARD, BENCH]) }),
    launchBrowser(),
  ]);
  if (startedWorker.status === "fulfilled") worker = startedWorker.value;
  if (launched.status === "fulfilled") browser = launched.value;
  for (const r of [startedWorker, launched]) if (r.status === "rejected") throw r.reason;
  vite = await startVite(worker.url);
  // 24 h up to two minutes ago: 40–60 % on a slow wave, each 5-minute bucket spanning ±8.
  const now = Date.now();
  const samples: Record<string, number | string>[] = [];
  for (let t = now - DAY_MS, i = 0; t < now - 120_000; t += SEED_EVERY_MS, i++) {
    samples.push({ load: Math.round((50 + 10 * Math.sin(i / 40) + (i % 2 ? 8 : -8)) * 10) / 10, timestamp: new Date(t).toISOString() });
  }
  for (let i = 0; i < samples.length; i += 100) await ingest(samples.slice(i, i + 100));
  if (BENCHING) {
    const wide = samples.map(({ load, timestamp }) => ({ a: load!, b: load!, c: load!, d: load!, e: load!, timestamp: timestamp! }));
    for (let i = 0; i < wide.length; i += 100) await ingest(wide.slice(i, i + 100), "bench");
  }
}, 180_000);

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await vite?.stop();
  await worker?.stop();
  if (registry) await rm(registry, { recursive: true, force: true });
});

const chart = () => page.locator('.chart.history[data-metric="load"]');
const attr = async (name: string) => Number(await chart().getAttribute(name));
const search = () => new URL(page.url()).searchParams;

describe("history windows", () => {
  it("switches to 24 h and draws the band from the seeded history", async () => {
    page = await browser.context.newPage();
    await page.goto(`${vite.url}/?dashboard=hist`);
    await ingest([{ load: 55 }]);
    await page.locator('.app[data-state="live"]').waitFor({ timeout: 20_000 });
    expect(await page.locator(".chart.history").count()).toBe(0);
    await page.getByRole("radio", { name: "24 h" }).check();
    await expect.poll(() => search().get("window")).toBe("1440");
    // `auto` gives 24 h in 5-minute buckets: about 288 of them, each with a band.
    await expect.poll(() => attr("data-banded"), { timeout: 10_000 }).toBeGreaterThan(250);
    expect(await attr("data-points")).toBeLessThanOrEqual(290);
    expect(await page.locator(".chart").count()).toBe(1);
    // The card stays live whatever the window.
    expect(await page.locator('.card[data-metric="load"] .num').textContent()).toBe("55.0");
    if (process.env.HISTORY_SCREENSHOT) await page.screenshot({ path: process.env.HISTORY_SCREENSHOT, fullPage: true });
  });

  it("moves the last point with the live stream, without fetching again", async () => {
    const fetched: string[] = [];
    page.on("request", (r) => r.url().includes("/series") && fetched.push(r.url()));
    const lastT = await attr("data-last-t");
    const before = await attr("data-last");
    await ingest([{ load: 99 }]);
    await expect.poll(() => attr("data-last"), { timeout: 10_000 }).not.toBe(before);
    expect(await attr("data-last-t")).toBeGreaterThanOrEqual(lastT);
    expect(await page.locator('.card[data-metric="load"] .num').textContent()).toBe("99.0");
    const moved = await attr("data-last");
    await ingest([{ load: 1 }]);
    await expect.poll(() => attr("data-last"), { timeout: 10_000 }).toBeLessThan(moved);
    expect(fetched).toEqual([]);
  });

  it("zooms on a drag, holds the range in the address, and Back returns to 24 h", async () => {
    const box = (await chart().locator(".u-over").boundingBox())!;
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.4, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.45, y, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => search().has("from")).toBe(true);
    expect(search().has("window")).toBe(false);
    const from = Number(search().get("from"));
    const to = Number(search().get("to"));
    expect(to - from).toBeGreaterThan(60 * 60_000);
    expect(to - from).toBeLessThan(2 * 60 * 60_000);
    // An hour or so: 1-minute steps, with the seeded samples every 2.5 minutes.
    await expect.poll(() => page.getByTestId("zoomed").textContent()).toContain("1m steps");
    await expect.poll(() => attr("data-points")).toBeGreaterThan(20);
    const zoomedPoints = await attr("data-points");

    // A shared link shows the same picture.
    const other = await browser.context.newPage();
    await other.goto(page.url());
    await expect.poll(() => other.locator('.chart.history[data-metric="load"]').getAttribute("data-points")).toBe(String(zoomedPoints));
    await other.close();

    await page.goBack();
    await expect.poll(() => search().get("window")).toBe("1440");
    expect(search().has("from")).toBe(false);
    await expect.poll(() => attr("data-banded")).toBeGreaterThan(250);
    await page.goBack();
    await expect.poll(() => search().has("window")).toBe(false);
    await expect.poll(() => page.locator(".chart.history").count()).toBe(0);
    await page.goForward();
    await expect.poll(() => search().get("window")).toBe("1440");
  });
});

// Not part of the suite: `HISTORY_BENCH=1 npx vitest run --project browser test/browser/history.test.ts -t measurements`
// (numbers in docs/BENCHMARKS.md). On the Vite dev server, so load times include its unbundled modules.
describe.runIf(BENCHING)("measurements", () => {
  it("page load to a full 24 h chart; main-thread busy and JS heap over a minute at 1 event/s", async () => {
    const loads: number[] = [];
    for (let run = 0; run < 5; run++) {
      // A new tab each time (the HTTP cache is warm after the first): load event to 5 full charts.
      // In front: the context's other tabs would make it a hidden one, with throttled timers.
      const tab = await browser.context.newPage();
      await tab.bringToFront();
      await tab.goto(`${vite.url}/?dashboard=bench&window=1440`);
      await tab.waitForFunction(() => [...document.querySelectorAll<HTMLElement>(".chart.history")].filter((c) => Number(c.dataset.banded) > 250).length === 5, null, { timeout: 30_000, polling: 20 });
      loads.push(await tab.evaluate(() => performance.now()));
      await tab.close();
    }
    const p = await browser.context.newPage();
    await p.bringToFront();
    const cdp = await p.context().newCDPSession(p);
    await cdp.send("Performance.enable");
    const metric = async (name: string) => ((await cdp.send("Performance.getMetrics")).metrics as { name: string; value: number }[]).find((m) => m.name === name)!.value;
    const results: Record<string, unknown> = { loadsMs: loads.map(Math.round) };
    for (const window of ["1440", "15"]) {
      await p.goto(`${vite.url}/?dashboard=bench&window=${window}`);
      await p.locator(".chart").first().waitFor();
      const tick = async () => {
        const v = Math.round(Math.random() * 1000) / 10;
        await ingest([{ a: v, b: v, c: v, d: v, e: v }], "bench");
      };
      for (let i = 0; i < 10; i++) await Promise.all([tick(), new Promise((r) => setTimeout(r, 1000))]); // warm up
      await cdp.send("HeapProfiler.collectGarbage");
      const [busy0, heap0, t0] = [await metric("TaskDuration"), await metric("JSHeapUsedSize"), Date.now()];
      for (let i = 0; i < 60; i++) await Promise.all([tick(), new Promise((r) => setTimeout(r, 1000))]);
      const [busy1, t1] = [await metric("TaskDuration"), Date.now()];
      await cdp.send("HeapProfiler.collectGarbage");
      const heap1 = await metric("JSHeapUsedSize");
      results[`window=${window}`] = { busyPercent: Math.round(((busy1 - busy0) / ((t1 - t0) / 1000)) * 1000) / 10, heapMB: [heap0, heap1].map((h) => Math.round(h / 1e5) / 10) };
    }
    console.log("HISTORY_BENCH", JSON.stringify(results));
    await p.close();
  }, 300_000);
});

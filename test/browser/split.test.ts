// A split metric in the page: `wrangler dev` with a dashboard whose CPU is split by host (nothing
// simulates it), JSON samples from five hosts, and the page on the Vite dev server in Chromium.
// The chart draws five lines with a legend; hiding one takes its line off the canvas (its colour's
// pixels are gone); a host going critical shows in the card (the aggregate and the host's name)
// and in the alert feed with its name.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SPLIT_BROWSER_DASHBOARD } from "../setup/dashboards.ts";
import { startDevStack, type DevStack } from "./stack.ts";

const INGEST_TOKEN = "browser-test-ingest-token-split-0123456789";
const HOSTS = ["web-1", "web-2", "web-3", "web-4", "web-5"];

let stack: DevStack;
let page: Page;

async function ingest(body: unknown): Promise<void> {
  const response = await fetch(`${stack.worker.url}/api/dashboards/fleet/metrics`, {
    method: "POST",
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBe(202);
}

/** Pixels of the chart's canvas in exactly this CSS colour (a line's core is drawn in it). */
const pixelsOf = (colour: string) =>
  page.locator('.chart.split[data-metric="cpu"] canvas').evaluate((canvas: HTMLCanvasElement, css) => {
    const probe = document.createElement("canvas").getContext("2d")!;
    probe.fillStyle = css;
    probe.fillRect(0, 0, 1, 1);
    const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
    const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] === r && data[i + 1] === g && data[i + 2] === b && data[i + 3] === 255) n++;
    return n;
  }, colour);

beforeAll(async () => {
  stack = await startDevStack("split", { INGEST_TOKEN, DASHBOARDS: JSON.stringify([SPLIT_BROWSER_DASHBOARD]) });
}, 180_000);

afterAll(async () => {
  await page?.close();
  await stack?.stop();
});

describe("a split metric in the page", () => {
  it("draws a line per series with a legend; hiding one takes its line off the chart", async () => {
    page = await stack.browser.context.newPage();
    await page.goto(`${stack.vite.url}/?dashboard=fleet`);
    // A minute of samples from five hosts, every 5 s: far apart values, so the lines do not cross.
    const now = Math.floor(Date.now() / 1000) * 1000;
    const samples = Array.from({ length: 12 }, (_, k) => ({
      cpu: Object.fromEntries(HOSTS.map((h, i) => [h, 10 + i * 15 + (k % 2)])),
      timestamp: new Date(now - (11 - k) * 5000).toISOString(),
    }));
    await page.locator('.app[data-state="waiting"], .app[data-state="live"]').waitFor({ timeout: 30_000 });
    await ingest(samples);
    const chart = page.locator('.chart.split[data-metric="cpu"]');
    await expect.poll(() => chart.getAttribute("data-lines"), { timeout: 20_000 }).toBe("5");
    // The legend: the worst first.
    expect(await chart.locator(".legend-item").evaluateAll((items) => items.map((i) => i.getAttribute("data-series")))).toEqual([
      "web-5",
      "web-4",
      "web-3",
      "web-2",
      "web-1",
    ]);
    const web2 = chart.locator('.legend-item[data-series="web-2"]');
    const colour = await web2.locator(".swatch").evaluate((s) => getComputedStyle(s).backgroundColor);
    await expect.poll(() => pixelsOf(colour), { timeout: 10_000 }).toBeGreaterThan(20);
    await web2.click();
    await expect.poll(() => chart.getAttribute("data-lines")).toBe("4");
    expect(await web2.getAttribute("aria-pressed")).toBe("false");
    await expect.poll(() => pixelsOf(colour), { timeout: 10_000 }).toBe(0);
    await web2.click();
    await expect.poll(() => pixelsOf(colour), { timeout: 10_000 }).toBeGreaterThan(20);
  });

  it("a host going critical: the card shows the aggregate and names it; the alert feed names it", async () => {
    await ingest({ cpu: { "web-3": 99 }, timestamp: new Date().toISOString() });
    const card = page.locator('.card[data-metric="cpu"]');
    await expect.poll(() => card.getAttribute("data-level"), { timeout: 20_000 }).toBe("critical");
    expect((await card.locator(".card-value").innerText()).replace(/\s+/g, " ")).toBe("99.0 % · web-3");
    const alert = page.locator('.feed .alert[data-series="web-3"][data-level="critical"]');
    await alert.waitFor({ timeout: 10_000 });
    expect(await alert.locator(".alert-message").innerText()).toBe("CPU on web-3 is 99.0%, above critical 95%");
    expect(await alert.locator("strong").innerText()).toBe("CPU · web-3");
    if (process.env.SPLIT_SCREENSHOT) await page.screenshot({ path: process.env.SPLIT_SCREENSHOT, fullPage: true });
  });

  it("a history window draws each series' average from GET …/series, with the same legend", async () => {
    await page.getByRole("radio", { name: "1 h" }).check();
    const chart = page.locator('.chart.history[data-metric="cpu"]');
    await expect.poll(() => chart.getAttribute("data-lines"), { timeout: 20_000 }).toBe("5");
    // The worst first, as the answer's `by` has them (web-3 reached 99).
    expect(await chart.locator(".legend-item").evaluateAll((items) => items.map((i) => i.getAttribute("data-series")))).toEqual([
      "web-3",
      "web-5",
      "web-4",
      "web-2",
      "web-1",
    ]);
    await chart.locator('.legend-item[data-series="web-2"]').dblclick();
    await expect.poll(() => chart.getAttribute("data-lines")).toBe("1");
    if (process.env.SPLIT_SCREENSHOT)
      await page.screenshot({ path: process.env.SPLIT_SCREENSHOT.replace(".png", "-1h.png"), fullPage: true });
  });
});

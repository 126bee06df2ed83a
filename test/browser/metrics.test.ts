// The page builds itself from the dashboard's definition (GET /api/dashboards/:id): cards,
// units, decimals, threshold colours (a `below` metric is bad when low), charts, chips and the
// alert feed. Headless Chromium on the Vite dev server, in front of a `wrangler dev` whose
// dashboards are the shipped ones with nothing simulated (every value here is one this file
// pushed through the ingest API), plus a 12-metric dashboard for the layout. checkout-api sends
// its alerts to a webhook channel on a local receiver, so the feed shows where each went.
import { createServer, type Server as HttpServer } from "node:http";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_METRICS } from "../../contract/index.ts";
import type { DashboardDebug } from "../../web/src/composables/useDashboard.ts";
import { SHIPPED_DASHBOARDS } from "../setup/dashboards.ts";
import { startDevStack, type Browser, type DevStack, type Server } from "./stack.ts";

const INGEST_TOKEN = "browser-test-ingest-token-metrics-0123456789";
const TWELVE = Array.from({ length: 12 }, (_, i) => ({
  name: `m${i}`,
  label: i === 11 ? "A metric with a rather long label (partition 0)" : `Metric ${i}`,
  unit: ["%", "ms", "jobs", ""][i % 4],
  decimals: i % 3,
  min: 0,
  ...(i % 2 === 0 ? { warning: 50, critical: 80 } : {}),
}));
const DASHBOARDS = [
  ...(SHIPPED_DASHBOARDS as { id: string }[]).map((d) => ({
    ...d,
    simulate: false,
    ...(d.id === "checkout-api" ? { notify: ["ops"] } : {}),
  })),
  { id: "twelve", name: "Twelve", simulate: false, metrics: TWELVE },
];

let stack: DevStack;
/** The webhook channel's receiver: the bodies it got. */
let receiver: HttpServer;
const hooked: { type: string; data: { metric?: string; eventId: string } }[] = [];
let worker: Server;
let vite: Server;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c));
    req.on("end", () => {
      hooked.push(JSON.parse(body) as (typeof hooked)[number]);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const NOTIFY = [{ name: "ops", type: "webhook", url: hook, secret: "$OPS_HOOK_SECRET" }];
  stack = await startDevStack("metrics", {
    INGEST_TOKEN,
    DASHBOARDS: JSON.stringify(DASHBOARDS),
    NOTIFY: JSON.stringify(NOTIFY),
    OPS_HOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/Fq9cD3Qpiw=",
  });
  ({ worker, vite, browser } = stack);
}, 150_000);

afterAll(async () => {
  await page?.close();
  await stack?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

async function ingest(dashboard: string, sample: Record<string, number>): Promise<void> {
  const response = await fetch(`${worker.url}/api/dashboards/${dashboard}/metrics`, {
    method: "POST",
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(sample),
  });
  expect(response.status, await response.clone().text()).toBe(202);
}

const card = (name: string) => page.locator(`.card[data-metric="${name}"]`);
const texts = (selector: string) => page.locator(selector).allTextContents();
const waitForState = (s: string) => page.waitForSelector(`.app[data-state="${s}"]`, { timeout: 20_000 });
const streamUrls = () => page.evaluate(() => [...(window as unknown as { __dashboardDebug: DashboardDebug }).__dashboardDebug.streamUrls]);
/** The element's text colour is the page's `--<name>` colour. */
const hasColour = (selector: string, name: string) =>
  page.evaluate(
    ([selector, name]) => {
      const probe = document.body.appendChild(document.createElement("span"));
      probe.style.color = `var(--${name})`;
      const expected = getComputedStyle(probe).color;
      probe.remove();
      return getComputedStyle(document.querySelector(selector)!).color === expected;
    },
    [selector, name] as const,
  );

describe("a dashboard with its own metrics (checkout-api)", () => {
  it("shows exactly its four cards, charts and chips, with labels and units from the definition", async () => {
    page = await browser.context.newPage();
    await page.goto(`${vite.url}/?dashboard=checkout-api`);
    await waitForState("waiting");
    expect(await page.locator(".card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-metric")))).toEqual([
      "orders_per_min",
      "p95_latency_ms",
      "payment_success_ratio",
      "queue_depth",
    ]);
    expect(await texts(".card h2")).toEqual(["Orders/min", "p95 latency", "Payment success", "Queue depth"]);
    expect(await texts(".card .unit")).toEqual(["orders", "ms", "%", "jobs"]);
    expect(await texts(".chart h3")).toEqual(["Orders/min orders", "p95 latency ms", "Payment success %", "Queue depth jobs"]);
    expect(await texts(".chip span")).toEqual(["Orders/min", "p95 latency", "Payment success", "Queue depth"]);
    // Nothing published yet: every card waits, none claims a level it does not know.
    expect(await page.locator('.card[data-level="ok"]').count()).toBe(4);
    expect(await streamUrls()).toEqual(["/api/dashboards/checkout-api/events?history=300"]);
  });

  it("colours a low Orders/min critical, with its unit and decimals, and the feed says it is below the threshold", async () => {
    await ingest("checkout-api", { orders_per_min: 12, p95_latency_ms: 120, payment_success_ratio: 99.5, queue_depth: 3 });
    await page.locator('.card[data-metric="orders_per_min"][data-level="critical"]').waitFor({ timeout: 5000 });
    await waitForState("live");
    expect(await card("orders_per_min").locator(".num").textContent()).toBe("12");
    expect(await card("orders_per_min").locator(".badge").textContent()).toBe("Critical");
    expect(await hasColour('.card[data-metric="orders_per_min"] .num', "critical")).toBe(true);
    expect(await card("orders_per_min").locator(".card-foot").textContent()).toBe("warn ≤ 40 orders · crit ≤ 20 orders");
    // The others are fine, each with its own decimals: 99.50 (2), 120 and 3 (0).
    expect(await card("payment_success_ratio").locator(".num").textContent()).toBe("99.50");
    expect(await card("payment_success_ratio").getAttribute("data-level")).toBe("ok");
    expect(await card("p95_latency_ms").locator(".num").textContent()).toBe("120");
    expect(await card("queue_depth").locator(".num").textContent()).toBe("3");
    expect(await page.locator('.card[data-level="ok"]').count()).toBe(3);

    const alert = page.locator('.alert[data-level="critical"][data-metric="orders_per_min"]');
    await alert.waitFor({ timeout: 5000 });
    expect(await alert.getAttribute("data-direction")).toBe("below");
    expect(await alert.locator("strong").textContent()).toBe("Orders/min");
    expect(await alert.locator(".alert-value").textContent()).toBe("12 orders");
    expect(await alert.locator(".alert-message").textContent()).toBe("Orders/min 12 orders is below critical threshold 20 orders");
    expect(await page.locator(".critical-banner").textContent()).toContain("Orders/min 12 orders (≤ 20 orders)");
    expect(await page.title()).toMatch(/^▲ 1 critical · Checkout API/);
  });

  it("keeps a card's value when a sample does not carry its metric, and charts only what was reported", async () => {
    // 21 is past critical (20) by less than the hysteresis (2): still critical, on the page as on the server.
    await ingest("checkout-api", { orders_per_min: 21 });
    await page.waitForFunction(() => document.querySelector('.card[data-metric="orders_per_min"] .num')?.textContent === "21", null, {
      timeout: 5000,
    });
    expect(await card("orders_per_min").getAttribute("data-level")).toBe("critical");
    expect(await card("p95_latency_ms").locator(".num").textContent()).toBe("120");
    expect(await card("payment_success_ratio").locator(".num").textContent()).toBe("99.50");
    expect(await card("queue_depth").locator(".num").textContent()).toBe("3");
    const points = (name: string) => page.locator(`.chart[data-metric="${name}"]`).getAttribute("data-points");
    await expect.poll(() => points("orders_per_min")).toBe("2");
    expect(await points("p95_latency_ms")).toBe("1");
    expect(await page.locator(".alert").count()).toBe(1);
  });

  it("goes back to normal when the value recovers, and the feed says so", async () => {
    await ingest("checkout-api", { orders_per_min: 60 });
    await page.locator('.card[data-metric="orders_per_min"][data-level="ok"]').waitFor({ timeout: 5000 });
    expect(await card("orders_per_min").locator(".num").textContent()).toBe("60");
    expect(await card("orders_per_min").locator(".badge").count()).toBe(0);
    expect(await hasColour('.card[data-metric="orders_per_min"] .num', "critical")).toBe(false);
    const resolved = page.locator('.alert[data-level="resolved"][data-metric="orders_per_min"]');
    await resolved.waitFor({ timeout: 5000 });
    expect(await resolved.locator(".alert-message").textContent()).toBe("Orders/min back to normal at 60 orders (above 40 orders)");
    await expect.poll(() => page.locator(".critical-banner").count()).toBe(0);
    expect(await page.title()).not.toMatch(/critical/);
  });

  it("says beside each alert that it was sent, and to which channel, once the receiver has it", async () => {
    const alerts = page.locator('.alert[data-metric="orders_per_min"]');
    await expect
      .poll(() => alerts.locator('.alert-sent [data-state="sent"]').allTextContents(), { timeout: 15_000 })
      .toEqual(["✓ ops", "✓ ops"]);
    // What the receiver got is what the feed says went there.
    const ids = await alerts.evaluateAll((els) => els.map((e) => e.getAttribute("data-id")));
    expect(hooked.filter((h) => h.data.metric === "orders_per_min").map((h) => [h.type, h.data.eventId])).toEqual([
      ["alert.raised", ids[1]],
      ["alert.resolved", ids[0]],
    ]);
  });

  it("warns on a `below` metric past its warning threshold: Payment success 97.2 %", async () => {
    await ingest("checkout-api", { payment_success_ratio: 97.2 });
    await page.locator('.card[data-metric="payment_success_ratio"][data-level="warning"]').waitFor({ timeout: 5000 });
    expect(await card("payment_success_ratio").locator(".num").textContent()).toBe("97.20");
    expect(await hasColour('.card[data-metric="payment_success_ratio"] .num', "warning")).toBe(true);
    const alert = page.locator('.alert[data-level="warning"][data-metric="payment_success_ratio"]');
    await alert.waitFor({ timeout: 5000 });
    expect(await alert.locator(".alert-message").textContent()).toBe("Payment success 97.2% is below warning threshold 98%");
    expect(await alert.locator(".alert-value").textContent()).toBe("97.20%");
  });

  it("switching to demo switches to its five cards, with all of its metrics selected", async () => {
    await page.selectOption('select[name="dashboard"]', "demo");
    await expect.poll(() => page.locator(".card").count()).toBe(5);
    expect(await texts(".card h2")).toEqual(DEFAULT_METRICS.map((m) => m.label));
    expect(await texts(".chip span")).toEqual(DEFAULT_METRICS.map((m) => m.label));
    expect(await page.locator(".alert").count()).toBe(0);
    expect(new URL(page.url()).search).toBe("?dashboard=demo");
    expect((await streamUrls()).at(-1)).toBe("/api/dashboards/demo/events?history=300");
    // …and Back to checkout-api brings its four back, with what was published there.
    await page.goBack();
    await expect.poll(() => texts(".card h2")).toEqual(["Orders/min", "p95 latency", "Payment success", "Queue depth"]);
    await expect.poll(() => card("orders_per_min").locator(".num").textContent()).toBe("60");
  });

  it("streams only the metrics chosen, checks the address bar's names against the definition, and resets them on a switch", async () => {
    await page.goto(`${vite.url}/?dashboard=checkout-api&metrics=cpu,queue_depth`);
    await expect.poll(() => new URL(page.url()).searchParams.get("metrics")).toBe("queue_depth"); // cpu is not one of its metrics
    expect(await texts(".card h2")).toEqual(["Queue depth"]);
    expect(await streamUrls()).toEqual(["/api/dashboards/checkout-api/events?history=300&metrics=queue_depth"]);
    expect(await page.getByRole("checkbox", { name: "Queue depth" }).isDisabled()).toBe(true); // the last one stays

    await page.getByRole("checkbox", { name: "Orders/min" }).check();
    await expect.poll(() => new URL(page.url()).searchParams.get("metrics")).toBe("orders_per_min,queue_depth");
    expect(await texts(".card h2")).toEqual(["Orders/min", "Queue depth"]);
    await expect
      .poll(async () => (await streamUrls()).at(-1))
      .toBe("/api/dashboards/checkout-api/events?history=300&metrics=orders_per_min%2Cqueue_depth");

    await page.selectOption('select[name="dashboard"]', "edge-cache");
    await expect.poll(() => page.locator(".card").count()).toBe(5);
    expect(new URL(page.url()).searchParams.has("metrics")).toBe(false);
  });
});

describe("a dashboard with twelve metrics", () => {
  const boxes = () =>
    page
      .locator(".card")
      .evaluateAll((cards) =>
        cards.map((c) => c.getBoundingClientRect()).map((r) => ({ x: Math.round(r.x), y: Math.round(r.y), w: Math.round(r.width) })),
      );

  it("lays its cards out in rows on a desktop and two columns on a phone, never wider than the screen", async () => {
    await ingest("twelve", Object.fromEntries(TWELVE.map((m, i) => [m.name, 10 + i * 7])));
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${vite.url}/?dashboard=twelve`);
    await waitForState("live");
    expect(await page.locator(".card").count()).toBe(12);
    expect(await page.locator(".chart").count()).toBe(12);
    let rows = new Set((await boxes()).map((b) => b.y));
    expect(rows.size).toBe(2); // 6 + 6
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    // Colours by position: the twelve chips have twelve different ones.
    const chipColours = await page
      .locator(".chip span")
      .evaluateAll((spans) => spans.map((s) => getComputedStyle(s, "::before").backgroundColor));
    expect(new Set(chipColours).size).toBe(12);

    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(async () => new Set((await boxes()).map((b) => b.x)).size).toBe(2);
    rows = new Set((await boxes()).map((b) => b.y));
    expect(rows.size).toBe(6);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // The long label is cut with an ellipsis, not pushed past the card.
    const overflow = await card("m11").evaluate((c) => c.scrollWidth - c.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });
});

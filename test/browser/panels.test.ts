// The log panel and the health panel. Headless Chromium on the Vite dev server, in front of its
// own `wrangler dev` with a dashboard whose one health check hits a Node server this file flips
// between 200 and 503 (each cron trigger runs each check once: PUBLISH_WINDOW_SECONDS=1), and
// log lines this file pushes through the ingest API.
import { createServer, type Server as HttpServer } from "node:http";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOG_LEVELS, type LogLevel } from "../../contract/index.ts";
import type { DashboardDebug } from "../../web/src/composables/useDashboard.ts";
import { LOG_ROWS } from "../../web/src/composables/useLogs.ts";
import { sleep, startDevStack, triggerCron, type Browser, type DevStack, type Server } from "./stack.ts";

const INGEST_TOKEN = "browser-test-ingest-token-panels-0123456789";
const METRICS = [{ name: "rps", label: "Requests", unit: "req/s", decimals: 0 }];
/** Screenshots for a person to look at, when PANELS_SCREENSHOTS names a directory. */
const SHOTS = process.env.PANELS_SCREENSHOTS;

let healthy = true;
let checkServer: HttpServer;
let checkUrl: string;
let stack: DevStack;
let worker: Server;
let vite: Server;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  checkServer = createServer((_req, res) => {
    res.writeHead(healthy ? 200 : 503, { "Content-Type": "text/plain" }).end(healthy ? "ok" : "unavailable");
  });
  await new Promise<void>((resolve) => checkServer.listen(0, "127.0.0.1", resolve));
  checkUrl = `http://127.0.0.1:${(checkServer.address() as { port: number }).port}/healthz`;
  const dashboards = [
    {
      id: "ops",
      name: "Ops",
      simulate: false,
      metrics: METRICS,
      checks: [{ name: "api", url: checkUrl, intervalSeconds: 10, timeoutMs: 2000, downAfter: 1, upAfter: 1 }],
    },
    { id: "quiet", name: "Quiet", simulate: false, metrics: METRICS },
  ];
  stack = await startDevStack(
    "panels",
    { INGEST_TOKEN, DASHBOARDS: JSON.stringify(dashboards), PUBLISH_WINDOW_SECONDS: "1" },
    { colorScheme: "light", viewport: { width: 1280, height: 900 } },
  );
  ({ worker, vite, browser } = stack);
}, 150_000);

afterAll(async () => {
  await page?.close();
  await stack?.stop();
  await new Promise<void>((resolve) => (checkServer ? checkServer.close(() => resolve()) : resolve()));
});

// The object counts one run per check per half interval (5 s): triggers go at least 6 s apart.
let lastTrigger = 0;
async function runChecksOnce(): Promise<void> {
  await sleep(Math.max(0, lastTrigger + 6000 - Date.now()));
  lastTrigger = Date.now();
  triggerCron(worker.url);
}

interface Line {
  level: LogLevel;
  message: string;
  attributes?: Record<string, string | number | boolean>;
}
async function pushLogs(lines: Line[]): Promise<string[]> {
  const response = await fetch(`${worker.url}/api/dashboards/ops/logs`, {
    method: "POST",
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(lines),
  });
  const body = await response.text();
  expect(response.status, body).toBe(202);
  return (JSON.parse(body) as { ids: string[] }).ids;
}

const CYCLE: LogLevel[] = ["info", "info", "warn", "error", "debug"];
const lineNo = (i: number): Line => ({
  level: CYCLE[i % CYCLE.length]!,
  message: `line ${i}: request served`,
  attributes: { i, route: i % 2 ? "/pay" : "/cart" },
});
const LINES = Array.from({ length: 1500 }, (_, i) => lineNo(i));
const rank = (l: LogLevel) => LOG_LEVELS.indexOf(l);
/** Lines of LINES the page gets at a minimum level, and that a text filter keeps. */
const expected = (min: LogLevel, needle = "") => LINES.filter((l) => rank(l.level) >= rank(min) && l.message.includes(needle)).length;

const waitForState = (s: string) => page.waitForSelector(`.app[data-state="${s}"]`, { timeout: 20_000 });
const streamUrls = () => page.evaluate(() => [...(window as unknown as { __dashboardDebug: DashboardDebug }).__dashboardDebug.streamUrls]);
const rows = () => page.locator(".log-row");
const rowLevels = () => rows().evaluateAll((els) => [...new Set(els.map((e) => e.getAttribute("data-level")))].sort());
const list = () => page.locator(".log-list");
const scrollState = () => list().evaluate((el) => ({ top: el.scrollTop, bottom: el.scrollHeight - el.scrollTop - el.clientHeight }));
const firstVisibleId = () =>
  list().evaluate((el) => {
    const top = el.getBoundingClientRect().top;
    return [...el.querySelectorAll(".log-row")].find((r) => r.getBoundingClientRect().bottom > top + 1)?.getAttribute("data-id") ?? null;
  });
const shot = async (name: string) => {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
};

describe("panels appear only where there is something to show", () => {
  it("a dashboard without checks or logs has neither panel", async () => {
    page = await browser.context.newPage();
    await page.goto(`${vite.url}/?dashboard=quiet`);
    await waitForState("waiting");
    expect(await page.locator(".health").count()).toBe(0);
    expect(await page.locator(".logs").count()).toBe(0);
    expect(await streamUrls()).toEqual(["/api/dashboards/quiet/events?history=300"]);
  });

  it("a dashboard with a check shows it at once (its last state from …/checks), and no log panel before a line", async () => {
    await runChecksOnce();
    await expect
      .poll(async () => ((await (await fetch(`${worker.url}/api/dashboards/ops/checks`)).json()) as { status: string }[])[0]?.status, {
        timeout: 15_000,
      })
      .toBe("up");
    await page.selectOption('select[name="dashboard"]', "ops");
    const check = page.locator('.check[data-check="api"]');
    await check.waitFor({ timeout: 10_000 });
    await expect.poll(() => check.getAttribute("data-status")).toBe("up");
    expect(await check.locator(".check-status").textContent()).toBe("Up");
    expect(await check.locator(".check-last").textContent()).toMatch(/^200 · \d+ s ago$/);
    expect(await check.locator(".check-since").textContent()).toMatch(/^\s*Up since \d\d:\d\d:\d\d\s*$/);
    expect(await check.locator(".check-uptime").textContent()).toBe("100% up · 1 run in 5 min");
    expect(await check.locator(".check-line").getAttribute("d")).toMatch(/^M[\d.]+,[\d.]+h0\.01$/);
    expect(await page.locator(".logs").count()).toBe(0);
  });
});

describe("the log panel", () => {
  let lastIds: string[] = [];

  it("shows lines as they arrive, with level classes, timestamps and at most its cap of rows", async () => {
    for (let i = 0; i < LINES.length; i += 500) lastIds = await pushLogs(LINES.slice(i, i + 500));
    await page.locator(".logs").waitFor({ timeout: 10_000 });
    await expect
      .poll(() => page.locator(".logs .panel-head .muted").textContent(), { timeout: 10_000 })
      .toBe(`newest ${LOG_ROWS} of ${expected("info").toLocaleString("en-US")} matching`);
    expect(await rows().count()).toBe(LOG_ROWS);
    expect(await rowLevels()).toEqual(["error", "info", "warn"]); // debug is below the stream's default
    expect(await page.locator(".log-row.log-error").count()).toBeGreaterThan(0);
    expect(await page.locator(".log-row.log-warn").count()).toBeGreaterThan(0);
    // Following: the newest line the stream sends (1498, an error line) is the last row, in view.
    expect(await rows().last().getAttribute("data-id")).toBe(lastIds.at(-2)); // 1499 is debug: not sent
    expect(await rows().last().locator(".log-message").textContent()).toBe("line 1498: request served");
    expect((await scrollState()).bottom).toBeLessThan(4);
    expect(await rows().last().locator("time").textContent()).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
    await shot("logs-1280-light");
  });

  it("filters by minimum level and by text, and asks the stream for debug lines only when they are chosen", async () => {
    await page.selectOption('select[name="log-level"]', "error");
    await expect.poll(rowLevels).toEqual(["error"]);
    expect(await rows().count()).toBe(expected("error"));

    await page.fill('input[name="log-text"]', "LINE 12");
    await expect.poll(() => rows().count()).toBe(expected("error", "line 12"));
    const messages = await rows().locator(".log-message").allTextContents();
    expect(messages.every((m) => m.includes("line 12"))).toBe(true);

    await page.fill('input[name="log-text"]', "");
    await page.selectOption('select[name="log-level"]', "debug");
    await expect.poll(async () => (await streamUrls()).at(-1)).toBe("/api/dashboards/ops/events?history=300&logs=debug");
    await expect.poll(rowLevels, { timeout: 10_000 }).toEqual(["debug", "error", "info", "warn"]);
    await expect.poll(() => rows().last().locator(".log-message").textContent()).toBe("line 1499: request served");

    // Back to info: filtered here, the stream stays as it is.
    const opened = await streamUrls();
    await page.selectOption('select[name="log-level"]', "info");
    await expect.poll(rowLevels).toEqual(["error", "info", "warn"]);
    expect(await streamUrls()).toEqual(opened);
    expect(await rows().count()).toBe(LOG_ROWS);
  });

  it("pauses follow mode when scrolled up: new lines do not move the view, resume jumps to the newest", async () => {
    await expect.poll(async () => (await scrollState()).bottom).toBeLessThan(4);
    await list().hover();
    await page.mouse.wheel(0, -1500);
    const resume = page.getByTestId("log-resume");
    await resume.waitFor({ timeout: 5000 });
    expect(await resume.textContent()).toContain("Paused · 0 new lines");
    expect(await page.locator(".logs").getAttribute("data-following")).toBe("false");
    await sleep(300); // the wheel's smooth scroll settles
    const before = { ...(await scrollState()), id: await firstVisibleId() };

    const more = Array.from({ length: 50 }, (_, i) => lineNo(2000 + i));
    const ids = await pushLogs(more);
    const arriving = more.filter((l) => l.level !== "debug").length; // level filter: info and above
    await expect.poll(() => resume.textContent()).toContain(`Paused · ${arriving} new lines`);
    expect((await scrollState()).top).toBe(before.top);
    expect(await firstVisibleId()).toBe(before.id);
    await shot("logs-paused");

    await resume.click();
    await expect.poll(() => rows().last().getAttribute("data-id")).toBe(ids.at(-2)); // 2049 is debug
    await expect.poll(async () => (await scrollState()).bottom).toBeLessThan(4);
    expect(await resume.count()).toBe(0);
    expect(await page.locator(".logs").getAttribute("data-following")).toBe("true");
  });

  it("expands a line's attributes", async () => {
    const row = rows().last();
    const toggle = row.locator(".log-line");
    expect(await toggle.getAttribute("aria-expanded")).toBe("false");
    await toggle.click();
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    const attrs = row.locator(".log-attr");
    expect(await attrs.locator("dt").allTextContents()).toEqual(["time", "i", "route"]);
    expect(await attrs.locator("dd").nth(1).textContent()).toBe("2048");
    expect(await attrs.locator("dd").nth(2).textContent()).toBe("/cart");
    await toggle.click();
    expect(await row.locator(".log-attrs").count()).toBe(0);
  });

  it("shows CR/LF, ANSI escapes, control characters and markup as inert text in one row", async () => {
    await pushLogs([
      {
        level: "error",
        message: "boom \u001b[31mred\u001b[0m\r\nsecond line <b>bold</b> <img src=x onerror=alert(1)>",
        attributes: { "note\u0007": "tab\there\u202eevil", count: 3 },
      },
    ]);
    await page.fill('input[name="log-text"]', "boom");
    await expect.poll(() => rows().count()).toBe(1);
    const row = rows().first();
    const message = row.locator(".log-message");
    expect(await message.textContent()).toBe("boom \\u001b[31mred\\u001b[0m\\r\\nsecond line <b>bold</b> <img src=x onerror=alert(1)>");
    expect(await message.evaluate((el) => el.children.length)).toBe(0);
    expect(await page.locator(".log-list b, .log-list img").count()).toBe(0);
    // One line high, like any other row.
    const height = await row.locator(".log-line").evaluate((el) => el.getBoundingClientRect().height);
    await page.fill('input[name="log-text"]', "line 1498");
    const normal = await rows()
      .first()
      .locator(".log-line")
      .evaluate((el) => el.getBoundingClientRect().height);
    expect(Math.abs(height - normal)).toBeLessThan(1);

    await page.fill('input[name="log-text"]', "boom");
    await row.locator(".log-line").click();
    expect(await row.locator(".log-attr dt").allTextContents()).toEqual(["time", "note\\u0007", "count"]);
    expect(await row.locator(".log-attr dd").nth(1).textContent()).toBe("tab\\there\\u202eevil");
    await page.fill('input[name="log-text"]', "");
  });
});

describe("the health panel", () => {
  it("shows the check go down, with the alert in the feed, and recover", async () => {
    const check = page.locator('.check[data-check="api"]');
    healthy = false;
    await runChecksOnce();
    await expect.poll(() => check.getAttribute("data-status"), { timeout: 15_000 }).toBe("down");
    expect(await check.locator(".check-status").textContent()).toBe("Down");
    expect(await check.locator(".check-last").textContent()).toMatch(/^expected 200, got 503 · \d+ s ago$/);
    const down = page.locator('.alert[data-check="api"][data-level="critical"]');
    await down.waitFor({ timeout: 5000 });
    expect(await down.locator(".alert-message").textContent()).toBe('check "api" is down: expected 200, got 503');
    expect(await down.locator("strong").textContent()).toBe("api");
    expect(await page.locator(".critical-banner").textContent()).toContain("check api down");
    expect(await page.title()).toMatch(/^▲ 1 critical · Ops/);
    expect(await check.locator(".check-fail").count()).toBe(1);
    await shot("health-down-1280-light");

    healthy = true;
    await runChecksOnce();
    await expect.poll(() => check.getAttribute("data-status"), { timeout: 15_000 }).toBe("up");
    const resolved = page.locator('.alert[data-check="api"][data-level="resolved"]');
    await resolved.waitFor({ timeout: 5000 });
    expect(await resolved.locator(".alert-message").textContent()).toMatch(/^check "api" recovered: 200 in \d+ ms$/);
    expect(await page.locator(".critical-banner").count()).toBe(0);
    // Three runs in the window: up, down, up.
    expect(await check.locator(".check-uptime").textContent()).toBe("66.7% up · 3 runs in 5 min");
    expect(await check.locator(".check-since").textContent()).toMatch(/Up since \d\d:\d\d:\d\d/);
  });
});

describe("layout", () => {
  const panelBackground = () => page.locator(".logs").evaluate((el) => getComputedStyle(el).backgroundColor);

  it("fits a 390 px phone", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    for (const selector of [".health", ".logs", ".log-tools", ".check"]) {
      const box = await page.locator(selector).first().boundingBox();
      expect(box!.x + box!.width, selector).toBeLessThanOrEqual(390);
    }
    await shot("panels-390-light");
  });

  it("follows a dark system theme", async () => {
    const light = await panelBackground();
    await page.emulateMedia({ colorScheme: "dark" });
    await expect.poll(panelBackground).not.toBe(light);
    expect(await panelBackground()).toBe("rgb(18, 24, 33)"); // --panel, dark
    const text = await rows()
      .last()
      .locator(".log-message")
      .evaluate((el) => getComputedStyle(el).color);
    expect(text).toBe("rgb(227, 233, 241)"); // --text, dark
    await shot("panels-390-dark");
    await page.setViewportSize({ width: 1280, height: 900 });
    await shot("panels-1280-dark");
  });
});

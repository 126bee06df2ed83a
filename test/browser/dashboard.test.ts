// The dashboard in headless Chromium, served the production way: the built site behind
// `wrangler pages dev`, whose Pages Function reaches a `wrangler dev` of the Worker through the
// API service binding (found in a private dev registry). A TCP proxy sits between the browser
// and Pages so the tests can cut connections the way a network or a server does. Then the Vite
// dev server, for the dev proxy's disconnect handling, and a second Pages stack whose Worker
// wants viewer tickets.
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { EventSource } from "eventsource";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareEventIds, EVENT, parseEventId } from "../../contract/index.ts";
import type { DashboardDebug } from "../../web/src/composables/useDashboard.ts";
import {
  buildWeb,
  launchBrowser,
  sleep,
  startPages,
  startTcpProxy,
  startVite,
  startWorker,
  stats,
  tempDir,
  triggerCron,
  type Browser,
  type Server,
  type TcpProxy,
  until,
} from "./stack.ts";

const INGEST_TOKEN = "browser-test-ingest-token-0123456789";
let registry: string;
let dist: string;
let worker: Server;
let pages: Server;
let proxy: TcpProxy;
let browser: Browser;
let cron: ReturnType<typeof setInterval>;
/**
 * Someone else watching demo all along: a simulated dashboard is published to only while watched,
 * and the tests below count on 1 Hz history since `cronStarted` whatever this page does.
 */
let elsewhere: EventSource;
const ELSEWHERE = 1;
/** When the first cron trigger started the 1 Hz samples. */
let cronStarted: number;
let page: Page;

beforeAll(async () => {
  registry = await tempDir("rtd-browser-registry-");
  dist = await tempDir("rtd-browser-dist-");
  const [startedWorker, built] = await Promise.allSettled([startWorker(registry, { INGEST_TOKEN }), buildWeb(dist)]);
  if (startedWorker.status === "fulfilled") worker = startedWorker.value;
  for (const r of [startedWorker, built]) if (r.status === "rejected") throw r.reason;
  elsewhere = new EventSource(`${worker.url}/api/dashboards/demo/events?history=0`);
  await until(
    async () => (await stats(worker.url, "demo")).connectedClients,
    (n) => n === ELSEWHERE,
    10_000,
    "the other viewer of demo",
  );
  // Each trigger publishes 1 Hz on every watched dashboard for a minute; overlapping ones do not double up.
  triggerCron(worker.url);
  cronStarted = Date.now();
  cron = setInterval(() => triggerCron(worker.url), 40_000);
  // Each assigned before any failure is thrown, so afterAll stops whatever did start.
  const [startedPages, launched] = await Promise.allSettled([startPages(registry, dist), launchBrowser()]);
  if (startedPages.status === "fulfilled") pages = startedPages.value;
  if (launched.status === "fulfilled") browser = launched.value;
  for (const r of [startedPages, launched]) if (r.status === "rejected") throw r.reason;
  proxy = await startTcpProxy(pages.port);
  // Some history, so the charts have something to fill from on load.
  await until(
    async () => (await stats(worker.url, "demo")).eventsPublished,
    (n) => n >= 8,
    30_000,
    "events published on demo",
  );
}, 150_000);

afterAll(async () => {
  clearInterval(cron);
  elsewhere?.close();
  await browser?.close();
  await proxy?.close();
  await pages?.stop();
  await worker?.stop();
  if (registry) await rm(registry, { recursive: true, force: true });
  if (dist) await rm(dist, { recursive: true, force: true });
});

const debug = (p: Page) =>
  p.evaluate(() => {
    const d = (window as unknown as { __dashboardDebug: DashboardDebug }).__dashboardDebug;
    return { ids: [...d.ids], states: [...d.states], duplicates: d.duplicates, streamUrls: [...d.streamUrls] };
  });
const state = (p: Page) => p.locator(".app").getAttribute("data-state");
const waitForState = (p: Page, s: string, timeout = 15_000) => p.waitForSelector(`.app[data-state="${s}"]`, { timeout });
const cardValues = (p: Page) => p.locator(".card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-value")));

/** The Worker's own sequence of event ids after `first`, up to and including `last`. */
async function serverIds(dashboard: string, first: string, last: string, origin = worker.url, extraQuery = ""): Promise<string[]> {
  const source = new EventSource(`${origin}/api/dashboards/${dashboard}/events?lastEventId=${first}${extraQuery}`);
  const ids = [first];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server never sent ${last} (got ${ids.length - 1} ids after ${first})`)), 10_000);
      // Events after `last` may be dispatched in the same chunk, before close() below runs.
      const onEvent = (e: MessageEvent) => {
        if (ids.at(-1) === last) return;
        ids.push(e.lastEventId);
        if (e.lastEventId === last) {
          clearTimeout(timer);
          resolve();
        }
      };
      // Every event with an id that the page handles (simulated dashboards send log lines too).
      for (const name of [EVENT.metric, EVENT.alert, EVENT.log, EVENT.health]) source.addEventListener(name, onEvent);
    });
  } finally {
    source.close();
  }
  return ids;
}

async function expectContiguous(p: Page, origin?: string, extraQuery?: string): Promise<string[]> {
  const { ids, duplicates } = await debug(p);
  expect(duplicates).toBe(0);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual(await serverIds("demo", ids[0]!, ids.at(-1)!, origin, extraQuery));
  return ids;
}

/** Request lines (method and URL) of the stream requests for `dashboard` that went through `p`. */
const streamRequests = (p: TcpProxy, dashboard: string, from = 0) =>
  p.requests.slice(from).filter((r) => r.startsWith(`GET /api/dashboards/${dashboard}/events`));

describe("the dashboard on Pages (wrangler pages dev → service binding → wrangler dev)", () => {
  it("fills the charts from history at once, reads connected, and shows live values that change", async () => {
    page = await browser.context.newPage();
    await page.goto(`${proxy.url}/?dashboard=demo&window=1`);
    await waitForState(page, "live");
    // History arrives in one write right after connecting: every chart has it within a moment,
    // long before a second of live samples could have accumulated.
    await page.waitForFunction(
      () => {
        const charts = [...document.querySelectorAll(".chart")];
        return charts.length === 5 && charts.every((c) => Number(c.getAttribute("data-points")) >= 8);
      },
      null,
      { timeout: 1500 },
    );
    expect(await page.getByTestId("status").textContent()).toBe("Connected");
    expect(await page.locator(".card").count()).toBe(5);

    // The count first: an event landing between the two reads then shows in both.
    const countBefore = Number((await page.getByTestId("event-count").textContent())!.replace(/\D/g, ""));
    const before = await cardValues(page);
    expect(before.every((v) => v !== "" && Number.isFinite(Number(v)))).toBe(true);
    await expect.poll(() => cardValues(page), { timeout: 10_000, interval: 250 }).not.toEqual(before);
    const countAfter = Number((await page.getByTestId("event-count").textContent())!.replace(/\D/g, ""));
    expect(countAfter).toBeGreaterThan(countBefore);
    expect(await page.locator(".status time").textContent()).toMatch(/^\d\d:\d\d:\d\d$/);
  });

  it("animates only what the compositor runs by itself, so a live page leaves its main thread alone between events", async () => {
    // The pulsing "live" dot once animated box-shadow: the page restyled and repainted 60 times a
    // second for as long as it was open (a third of a core, headless). Transform and opacity
    // animate off the main thread.
    const animated = await page.evaluate(() =>
      document.getAnimations().flatMap((a) => (a.effect as KeyframeEffect).getKeyframes().flatMap((k) => Object.keys(k))),
    );
    expect(animated.length).toBeGreaterThan(0);
    expect(new Set(animated.filter((p) => !["offset", "easing", "composite", "computedOffset"].includes(p)))).toEqual(
      new Set(["transform", "opacity"]),
    );
  });

  it("shows reconnecting when the server drops the stream, resumes with Last-Event-ID, and misses nothing", async () => {
    const requestsBefore = proxy.requests.length;
    proxy.cutAll();
    await waitForState(page, "reconnecting", 5000);
    expect(await page.getByTestId("status").textContent()).toBe("Reconnecting…");
    const lastBeforeDrop = (await debug(page)).ids.at(-1)!;

    await waitForState(page, "live", 15_000);
    const resumed = proxy.requests.slice(requestsBefore).filter((r) => r.startsWith("GET /api/dashboards/demo/events"));
    expect(resumed).toHaveLength(1);
    expect(resumed[0]).toMatch(new RegExp(`^last-event-id: ${lastBeforeDrop}$`, "im"));

    // A few live events after the resume, then compare with the server's own sequence.
    const seen = (await debug(page)).ids.length;
    await expect.poll(async () => (await debug(page)).ids.length, { timeout: 10_000 }).toBeGreaterThan(seen + 2);
    const ids = await expectContiguous(page);
    expect(ids.indexOf(lastBeforeDrop)).toBeGreaterThan(0);
    expect(ids.indexOf(lastBeforeDrop)).toBeLessThan(ids.length - 3);
  });

  it("says the server is unreachable while it is, and recovers without a gap", async () => {
    proxy.setBlocked(true);
    proxy.cutAll();
    await waitForState(page, "reconnecting", 5000);
    await waitForState(page, "unreachable", 15_000);
    expect(await page.getByTestId("status").textContent()).toBe("Server unreachable");
    await expect(page.locator(".banner[data-kind=critical]").textContent()).resolves.toContain("Can't reach the server");

    proxy.setBlocked(false);
    await waitForState(page, "live", 30_000);
    const seen = (await debug(page)).ids.length;
    await expect.poll(async () => (await debug(page)).ids.length, { timeout: 10_000 }).toBeGreaterThan(seen + 1);
    await expectContiguous(page);
    expect((await debug(page)).states).toEqual(expect.arrayContaining(["reconnecting", "unreachable", "live"]));
  });

  it("is keyboard reachable, and Pause/Resume closes the stream and resumes it without a gap", async () => {
    await page.locator("body").focus();
    const reached: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      reached.push(
        await page.evaluate(() => {
          const el = document.activeElement as HTMLInputElement | null;
          return el
            ? `${el.tagName.toLowerCase()}${el.type ? `:${el.type}` : ""}${el.name ? `[${el.name}]` : ""} ${el.closest("label")?.textContent?.trim() ?? el.textContent?.trim()}`
            : "";
        }),
      );
    }
    const kinds = [...new Set(reached)].map((r) => r.split(" ")[0]);
    expect(kinds).toEqual(
      expect.arrayContaining(["select:select-one[dashboard]", "button:button", "input:checkbox", "input:radio[window]"]),
    );
    expect(kinds.filter((k) => k === "input:checkbox")).toHaveLength(5); // one per metric

    await page.getByRole("button", { name: "Pause" }).focus();
    await page.keyboard.press("Enter");
    await waitForState(page, "paused", 5000);
    await expect.poll(async () => (await stats(worker.url, "demo")).connectedClients, { timeout: 15_000, interval: 250 }).toBe(ELSEWHERE);
    const lastBeforePause = (await debug(page)).ids.at(-1)!;
    await sleep(2500); // events published meanwhile are replayed on resume

    const requestsBefore = proxy.requests.length;
    await page.getByRole("button", { name: "Resume" }).press("Space");
    await waitForState(page, "live", 10_000);
    const resumed = proxy.requests.slice(requestsBefore).find((r) => r.startsWith("GET /api/dashboards/demo/events"));
    expect(resumed?.split(" ")[1]).toContain(`lastEventId=${lastBeforePause}`);
    // Live again: beyond the replay of what was published during the pause, an event the server
    // published after the resume reaches the page (read afresh at every poll).
    const lastAtResume = parseEventId((await stats(worker.url, "demo")).lastEventId)!;
    await expect
      .poll(
        async () => {
          const { ids } = await debug(page);
          const after = ids.slice(ids.indexOf(lastBeforePause) + 1);
          return ids.includes(lastBeforePause) && after.some((id) => compareEventIds(parseEventId(id)!, lastAtResume) > 0);
        },
        { timeout: 10_000 },
      )
      .toBe(true);
    await expectContiguous(page);
  });

  it("raises critical alerts at a glance and for screen readers, and shows when they resolve", async () => {
    const ingest = (samples: object[]) =>
      fetch(`${worker.url}/api/dashboards/demo/metrics`, {
        method: "POST",
        headers: { Authorization: `Bearer ${INGEST_TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify(samples),
      });
    // Right after a simulated sample, so ours has most of a second before the simulator's
    // next one (calm: it resolves the alert) arrives.
    const events = Number((await page.getByTestId("event-count").textContent())!.replace(/\D/g, ""));
    await page.waitForFunction(
      (n) => Number(document.querySelector('[data-testid="event-count"]')!.textContent!.replace(/\D/g, "")) > n,
      events,
    );
    // A calm sample first, so the simulator's own alert state cannot hide the one we want.
    const response = await ingest([
      { cpu: 20, memory: 50, rps: 900, activeConnections: 80, errorRate: 0.5 },
      { cpu: 97.5, memory: 50, rps: 900, activeConnections: 80, errorRate: 0.5 },
    ]);
    expect(response.status).toBe(202);
    // Banner, live region and title are one render: read them together the moment the banner
    // shows it, before the simulator's next sample resolves it.
    const snapshot = await page.waitForFunction(
      () => {
        const banner = document.querySelector(".critical-banner")?.textContent ?? "";
        if (!banner.includes("97.5")) return null;
        return { banner, live: document.querySelector('[aria-live="assertive"]')?.textContent ?? "", title: document.title };
      },
      null,
      { timeout: 5000, polling: "raf" },
    );
    const seen = (await snapshot.jsonValue())!;
    const critical = page.locator('.alert[data-level="critical"]').filter({ hasText: "97.5" });
    await critical.waitFor({ timeout: 5000 });
    expect(await critical.locator(".badge").textContent()).toBe("Critical");
    expect(seen.banner).toContain("CPU 97.5% (≥ 90%)");
    expect(seen.live).toContain("Critical alert: CPU");
    expect(seen.title).toMatch(/^▲ 1 critical/);

    // Back to normal (our sample or the simulator's next one): shown as resolved, banner gone.
    expect((await ingest([{ cpu: 20, memory: 50, rps: 900, activeConnections: 80, errorRate: 0.5 }])).status).toBe(202);
    const resolved = page.locator('.alert[data-level="resolved"]').filter({ hasText: "CPU" }).first();
    await resolved.waitFor({ timeout: 5000 });
    expect(await resolved.locator(".badge").textContent()).toBe("Resolved");
    await expect
      .poll(async () => ((await page.locator(".critical-banner").count()) ? await page.locator(".critical-banner").textContent() : ""), {
        timeout: 5000,
      })
      .not.toContain("97.5");
  });

  it("a wider window refills the charts from history at once; a narrower one only zooms", async () => {
    const points = async () => Number(await page.locator('.chart[data-metric="cpu"]').getAttribute("data-points"));
    const urls = (await debug(page)).streamUrls.length;
    await page.getByRole("radio", { name: "15 min" }).check();
    await expect.poll(() => new URL(page.url()).searchParams.get("window")).toBe("15");
    await expect.poll(async () => (await debug(page)).streamUrls.at(-1)).toContain("history=900");
    await waitForState(page, "live");
    // Everything since the Worker started is within 15 minutes: more than one minute's worth.
    // (Counted in seconds of 1 Hz samples, not eventsPublished, which counts the log lines too.)
    const samples = Math.floor((Date.now() - cronStarted) / 1000);
    await expect.poll(points, { timeout: 2000 }).toBeGreaterThan(Math.min(60, samples - 10));

    const restarted = (await debug(page)).streamUrls.length;
    expect(restarted).toBeGreaterThan(urls);
    await page.getByRole("radio", { name: "1 min" }).check();
    // A minute of 1 Hz samples, and the alert test's three ingested ones if they are that recent.
    await expect.poll(points).toBeLessThanOrEqual(61 + 3);
    expect((await debug(page)).streamUrls).toHaveLength(restarted);
    expect(new URL(page.url()).searchParams.has("window")).toBe(true);
  });

  it("switching dashboards closes the old stream on the server and opens the new one", async () => {
    // Only this page watches demo, and the viewer elsewhere (the comparison streams above are closed by now).
    await expect.poll(async () => (await stats(worker.url, "demo")).connectedClients, { timeout: 15_000 }).toBe(ELSEWHERE + 1);
    expect((await stats(worker.url, "checkout-api")).connectedClients).toBe(0);
    const requestsBefore = proxy.requests.length;

    await page.selectOption('select[name="dashboard"]', "checkout-api");
    await expect.poll(() => new URL(page.url()).searchParams.get("dashboard")).toBe("checkout-api");
    await waitForState(page, "live");
    await expect.poll(async () => (await stats(worker.url, "demo")).connectedClients, { timeout: 15_000, interval: 250 }).toBe(ELSEWHERE);
    await expect.poll(async () => (await stats(worker.url, "checkout-api")).connectedClients, { timeout: 15_000, interval: 250 }).toBe(1);

    // Its definition first, then a fresh stream: history for the window, no resume position
    // from the other dashboard. (The feed asks where alerts were sent a second after they come,
    // …/notifications, whenever the history holds some: not part of opening it.)
    const opened = proxy.requests
      .slice(requestsBefore)
      .filter((r) => r.startsWith("GET /api/dashboards/") && !r.startsWith("GET /api/dashboards/checkout-api/notifications "));
    expect(opened.map((r) => r.split(" ")[1])).toEqual(["/api/dashboards/checkout-api", "/api/dashboards/checkout-api/events?history=60"]);
    expect(opened[1]).not.toMatch(/^last-event-id:/im);
    await page.waitForFunction(() => Number(document.querySelector(".chart")?.getAttribute("data-points")) >= 8, null, { timeout: 2000 });
    // Its own four metrics, not the five of the dashboard before.
    expect(await page.locator(".card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-metric")))).toEqual([
      "orders_per_min",
      "p95_latency_ms",
      "payment_success_ratio",
      "queue_depth",
    ]);

    // Back goes back to the previous dashboard.
    await page.goBack();
    await expect.poll(() => new URL(page.url()).searchParams.get("dashboard")).toBe("demo");
    await expect.poll(() => page.locator(".card").count()).toBe(5);
    await waitForState(page, "live");
    await expect.poll(async () => (await stats(worker.url, "checkout-api")).connectedClients, { timeout: 15_000, interval: 250 }).toBe(0);
    await page.close();
  });

  it("tells an unknown dashboard from an unreachable server, and stops asking", async () => {
    const p = await browser.context.newPage();
    await p.goto(`${proxy.url}/?dashboard=no-such-board`);
    await waitForState(p, "not-found", 10_000);
    await expect(p.locator("h1").textContent()).resolves.toContain("no-such-board");
    expect(await p.locator(".not-found a").allTextContents()).toEqual(["Demo", "Checkout API", "Edge cache", "This machine"]);
    const asked = proxy.requests.filter((r) => r.startsWith("GET /api/dashboards/no-such-board/events")).length;
    await sleep(2500);
    expect(proxy.requests.filter((r) => r.startsWith("GET /api/dashboards/no-such-board/events"))).toHaveLength(asked);

    // Readable on a phone: nothing wider than the screen.
    await p.setViewportSize({ width: 375, height: 740 });
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);

    // The list of dashboards on that page leads back to a real one.
    await p.getByRole("link", { name: "Edge cache" }).click();
    await waitForState(p, "live");
    expect(new URL(p.url()).searchParams.get("dashboard")).toBe("edge-cache");
    await p.waitForFunction(() => Number(document.querySelector(".chart")?.getAttribute("data-points")) > 0);
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await p.close();
  });

  it("without viewer auth asks for no ticket, and reads /api/config once per page load", () => {
    expect(proxy.requests.filter((r) => r.startsWith("POST /api/tickets"))).toEqual([]);
    expect(proxy.requests.filter((r) => /[?&]ticket=/.test(r.split("\r\n")[0]!))).toEqual([]);
    const loads = proxy.requests.filter((r) => r.startsWith("GET /?")).length;
    expect(loads).toBe(2);
    expect(proxy.requests.filter((r) => r.startsWith("GET /api/config "))).toHaveLength(loads);
  });

  it("first loads one JS chunk and its CSS, 60 KB gzip at most, 80 KB with every chunk; a metrics dashboard then fetches uPlot's chunk, never the history or health panels", async () => {
    const html = await readFile(join(dist, "index.html"), "utf8");
    const entry = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(entry.filter((f) => f.endsWith(".js"))).toHaveLength(1);
    const gzipped = async (files: string[]) => {
      let bytes = 0;
      for (const f of files) bytes += gzipSync(await readFile(join(dist, f))).length;
      return bytes;
    };
    // The budgets (README): the first load, and everything any dashboard may load.
    expect(await gzipped(entry)).toBeLessThanOrEqual(60_000);
    const chunks = (await readdir(join(dist, "assets"))).filter((f) => /\.(js|css)$/.test(f));
    expect(await gzipped(chunks.map((f) => `assets/${f}`))).toBeLessThanOrEqual(80_000);
    const chunkOf = (name: string) => {
      const chunk = chunks.find((f) => f.startsWith(`${name}`) && f.endsWith(".js"));
      expect(chunk, `${name} in a chunk of its own`).toBeDefined();
      expect(entry).not.toContain(`assets/${chunk}`);
      return chunk!;
    };
    const p = await browser.context.newPage();
    const fetched: string[] = [];
    p.on("request", (r) => fetched.push(new URL(r.url()).pathname));
    try {
      await p.goto(`${proxy.url}/?dashboard=demo&window=1`);
      await p.waitForFunction(() => document.querySelectorAll(".chart canvas").length === 5, null, { timeout: 10_000 });
      expect(fetched).toContain(`/assets/${chunkOf("uPlot")}`);
      for (const panel of ["HistoryChart-", "HealthPanel-"]) expect(fetched).not.toContain(`/assets/${chunkOf(panel)}`);
    } finally {
      await p.close();
    }
  });

  it("pauses the stream after the page has been hidden for 5 minutes, and resumes from lastEventId when it is shown: nothing missed", async () => {
    // Headless Chromium keeps every page visible (a minimized window, a tab behind another and a
    // frozen page all still read "visible"), so the page is told it is hidden the way a browser
    // tells it: document.hidden / visibilityState and a visibilitychange event. The 5-minute
    // grace the dashboard sets passes on Playwright's clock, in a browser of this test's own.
    const own = await launchBrowser();
    try {
      await own.context.clock.install();
      const p = await own.context.newPage();
      const streams: string[] = [];
      p.on("request", (r) => {
        if (r.url().includes("/api/dashboards/demo/events")) streams.push(r.url());
      });
      const setHidden = (hidden: boolean) =>
        p.evaluate((h) => {
          Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
          Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (h ? "hidden" : "visible") });
          document.dispatchEvent(new Event("visibilitychange"));
        }, hidden);
      const clients = async () => (await stats(worker.url, "demo")).connectedClients - ELSEWHERE;

      await p.goto(`${pages.url}/?dashboard=demo&window=1`);
      await waitForState(p, "live", 30_000);
      await expect.poll(clients, { timeout: 10_000 }).toBe(1);
      expect(streams).toHaveLength(1);

      // Hidden for less than the grace: the stream stays.
      await setHidden(true);
      await p.clock.fastForward("04:50");
      await sleep(500);
      expect(await clients()).toBe(1);
      expect(await state(p)).toBe("live");

      // Past it: closed on the server too, and the page says paused.
      await p.clock.fastForward("00:15");
      await waitForState(p, "paused", 5000);
      await expect.poll(clients, { timeout: 10_000, interval: 250 }).toBe(0);
      const lastBeforeHiding = (await debug(p)).ids.at(-1)!;
      await sleep(1500); // events published meanwhile (1 Hz) come with the resume

      await setHidden(false);
      await waitForState(p, "live", 10_000);
      expect(streams).toHaveLength(2);
      expect(new URL(streams[1]!).searchParams.get("lastEventId")).toBe(lastBeforeHiding);
      await expect.poll(clients, { timeout: 10_000 }).toBe(1);
      const lastAtResume = parseEventId((await stats(worker.url, "demo")).lastEventId)!;
      await expect
        .poll(async () => (await debug(p)).ids.some((id) => compareEventIds(parseEventId(id)!, lastAtResume) > 0), { timeout: 10_000 })
        .toBe(true);
      const ids = await expectContiguous(p);
      expect(ids.indexOf(lastBeforeHiding)).toBeGreaterThan(0);
      expect(ids.indexOf(lastBeforeHiding)).toBeLessThan(ids.length - 1);
    } finally {
      await own.close();
    }
  });
});

describe("the Vite dev server (npm run dev), on a Worker of its own", () => {
  let registry2: string;
  let worker2: Server;
  let vite: Server;
  let cron2: ReturnType<typeof setInterval>;
  beforeAll(async () => {
    // Its own registry: this Worker has the same name as the one the Pages tests bind to.
    registry2 = await tempDir("rtd-browser-registry2-");
    worker2 = await startWorker(registry2);
    triggerCron(worker2.url);
    cron2 = setInterval(() => triggerCron(worker2.url), 40_000);
    vite = await startVite(worker2.url);
  }, 120_000);
  afterAll(async () => {
    clearInterval(cron2);
    await vite?.stop();
    await worker2?.stop();
    if (registry2) await rm(registry2, { recursive: true, force: true });
  });

  it("closes the Worker's stream when the page goes away (vite#12157)", async () => {
    const worker = worker2;
    await expect.poll(async () => (await stats(worker.url, "edge-cache")).connectedClients, { timeout: 15_000 }).toBe(0);
    const p = await browser.context.newPage();
    await p.goto(`${vite.url}/?dashboard=edge-cache`);
    await waitForState(p, "live", 30_000);
    expect(await state(p)).toBe("live");
    await expect.poll(async () => (await stats(worker.url, "edge-cache")).connectedClients, { timeout: 10_000 }).toBe(1);
    await p.close();
    await expect.poll(async () => (await stats(worker.url, "edge-cache")).connectedClients, { timeout: 10_000, interval: 250 }).toBe(0);
  });

  it("closes it for any client that disconnects, not only pages that say goodbye", async () => {
    const worker = worker2;
    // A client that just drops its connection (no pagehide): only the proxy fix can notice.
    const source = new EventSource(`${vite.url}/api/dashboards/edge-cache/events?history=0`);
    await new Promise((resolve) => source.addEventListener("open", resolve, { once: true }));
    await expect.poll(async () => (await stats(worker.url, "edge-cache")).connectedClients, { timeout: 10_000 }).toBe(1);
    source.close();
    await expect.poll(async () => (await stats(worker.url, "edge-cache")).connectedClients, { timeout: 10_000, interval: 250 }).toBe(0);
  });

  it("tells the user when the server no longer has the events it missed", async () => {
    const p = await browser.context.newPage();
    await p.goto(`${vite.url}/?dashboard=demo&window=1`);
    await waitForState(p, "live", 30_000);
    expect(await p.getByTestId("gap").count()).toBe(0);
    // The Worker comes back on the same port with an empty event log (its state was reset):
    // the page's resume position means nothing there any more, and the server says so.
    clearInterval(cron2);
    const port = worker2.port;
    await worker2.stop();
    await p.waitForSelector('.app[data-state="reconnecting"], .app[data-state="unreachable"]', { timeout: 10_000 });
    // (demo is not simulated there: a simulated one would fill in its last 15 minutes again, and a
    // tick simulated again has the id it had, so the page's position would still be known.)
    const restarted = { INGEST_TOKEN, DASHBOARDS: JSON.stringify([{ id: "demo", name: "Demo", simulate: false }]) };
    worker2 = await startWorker(registry2, restarted, port);
    await p.getByTestId("gap").waitFor({ timeout: 30_000 });
    expect(await p.getByTestId("gap").textContent()).toContain("Some history was not retained");
    expect(await p.getByTestId("gap").textContent()).toContain("unknown event id");

    // New events flow again, and the notice can be dismissed.
    const seen = (await debug(p)).ids.length;
    const ingested = await fetch(`${worker2.url}/api/dashboards/demo/metrics`, {
      method: "POST",
      headers: { Authorization: `Bearer ${INGEST_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ cpu: 20, memory: 50, rps: 900, activeConnections: 80, errorRate: 0.5 }),
    });
    expect(ingested.status).toBe(202);
    await expect.poll(async () => (await debug(p)).ids.length, { timeout: 10_000 }).toBeGreaterThan(seen);
    await waitForState(p, "live");
    await p.getByTestId("gap").getByRole("button", { name: "Dismiss" }).click();
    expect(await p.getByTestId("gap").count()).toBe(0);
    await p.close();
  });
});

describe("viewer tickets (VIEWER_SECRET and VIEWER_TOKEN set, 4 s tickets), on a Pages stack of its own", () => {
  const VIEWER_TOKEN = "browser-test-viewer-token-0123456789";
  const TICKET_TTL_SECONDS = 4;
  let registry3: string;
  let worker3: Server;
  let pages3: Server;
  let proxy3: TcpProxy;
  let cron3: ReturnType<typeof setInterval>;
  let p: Page;
  /** When the page's current ticket was asked for. */
  let ticketAskedAt = 0;

  beforeAll(async () => {
    // Its own registry: this Worker has the same name as the ones above.
    registry3 = await tempDir("rtd-browser-registry3-");
    worker3 = await startWorker(registry3, {
      VIEWER_SECRET: "browser-test-viewer-secret-0123456789",
      VIEWER_TOKEN,
      TICKET_TTL_SECONDS: String(TICKET_TTL_SECONDS),
    });
    triggerCron(worker3.url);
    cron3 = setInterval(() => triggerCron(worker3.url), 40_000);
    pages3 = await startPages(registry3, dist);
    proxy3 = await startTcpProxy(pages3.port);
  }, 120_000);
  afterAll(async () => {
    clearInterval(cron3);
    await p?.close();
    await proxy3?.close();
    await pages3?.stop();
    await worker3?.stop();
    if (registry3) await rm(registry3, { recursive: true, force: true });
  });

  /** A ticket straight from the Worker, for the comparison stream. */
  async function ticketQuery(): Promise<string> {
    const response = await fetch(`${worker3.url}/api/tickets`, {
      method: "POST",
      headers: { Authorization: `Bearer ${VIEWER_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ dashboard: "demo" }),
    });
    expect(response.status).toBe(201);
    return `&ticket=${encodeURIComponent(((await response.json()) as { ticket: string }).ticket)}`;
  }
  const storedToken = () => p.evaluate(() => ({ session: sessionStorage.getItem("rtd.viewerToken"), local: localStorage.length }));
  const tokenError = () => p.getByRole("alert");

  it("asks for a viewer token, and forgets and asks again for one that is refused", async () => {
    expect(await (await fetch(`${pages3.url}/api/config`)).json()).toEqual({ viewerAuth: "ticket", ticketTtlSeconds: TICKET_TTL_SECONDS });
    p = await browser.context.newPage();
    await p.goto(`${proxy3.url}/?dashboard=demo&window=1`);
    await waitForState(p, "auth");
    expect(await p.getByRole("heading", { level: 1 }).textContent()).toBe("This dashboard needs a viewer token");
    expect(await p.getByTestId("status").textContent()).toBe("Viewer token needed");
    const field = p.getByLabel("Viewer token", { exact: true });
    expect(await field.getAttribute("type")).toBe("password");
    await expect.poll(() => p.evaluate(() => document.activeElement?.id)).toBe("viewer-token");
    expect(await tokenError().count()).toBe(0);
    // Nothing was asked of the stream or the ticket endpoint without a token.
    expect(streamRequests(proxy3, "demo")).toEqual([]);
    expect(proxy3.requests.filter((r) => r.startsWith("POST /api/tickets"))).toEqual([]);

    // A stored token that is no longer accepted (rotated, say): forgotten, and the form says why.
    await p.evaluate(() => sessionStorage.setItem("rtd.viewerToken", "a-token-that-was-rotated-away"));
    await p.reload();
    await tokenError().waitFor({ timeout: 10_000 });
    expect(await tokenError().textContent()).toBe("That viewer token was not accepted.");
    expect(await storedToken()).toEqual({ session: null, local: 0 });
    expect(await state(p)).toBe("auth");

    // A wrong one typed in: the same.
    await p.getByLabel("Viewer token", { exact: true }).fill("not-the-viewer-token-0123456789");
    await p.getByRole("button", { name: "Open dashboard" }).click();
    await expect.poll(() => proxy3.requests.filter((r) => r.startsWith("POST /api/tickets")).length).toBe(2);
    await tokenError().waitFor();
    expect(await tokenError().textContent()).toBe("That viewer token was not accepted.");
    expect(await p.getByLabel("Viewer token", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    expect(await p.getByLabel("Viewer token", { exact: true }).getAttribute("aria-describedby")).toBe("token-error");
    expect(await storedToken()).toEqual({ session: null, local: 0 });
    expect(await state(p)).toBe("auth");
    expect(streamRequests(proxy3, "demo")).toEqual([]);
  });

  it("with the right token: connected and live, the stream URL carries a ticket, and the token is in no URL", async () => {
    const requestsBefore = proxy3.requests.length;
    await p.getByLabel("Viewer token", { exact: true }).fill(VIEWER_TOKEN);
    await p.getByLabel("Viewer token", { exact: true }).press("Enter");
    ticketAskedAt = Date.now();
    await waitForState(p, "live", 15_000);
    expect(await p.getByTestId("status").textContent()).toBe("Connected");
    const before = await cardValues(p);
    await expect.poll(() => cardValues(p), { timeout: 10_000, interval: 250 }).not.toEqual(before);

    const [ticketRequest, ...more] = proxy3.requests.slice(requestsBefore).filter((r) => r.startsWith("POST /api/tickets"));
    expect(more).toEqual([]);
    expect(ticketRequest).toMatch(new RegExp(`^authorization: Bearer ${VIEWER_TOKEN}$`, "im")); // in a header only
    const [opened, ...others] = streamRequests(proxy3, "demo", requestsBefore);
    expect(others).toEqual([]);
    expect(opened!.split(" ")[1]).toMatch(/^\/api\/dashboards\/demo\/events\?history=60&ticket=[\w-]+\.[\w-]+$/);

    // The token: in sessionStorage, nowhere else.
    expect(await storedToken()).toEqual({ session: VIEWER_TOKEN, local: 0 });
    expect(p.url()).not.toContain(VIEWER_TOKEN);
    expect(proxy3.requests.map((r) => r.split("\r\n")[0]).filter((line) => line!.includes(VIEWER_TOKEN))).toEqual([]);
    expect((await debug(p)).streamUrls.filter((u) => u.includes(VIEWER_TOKEN))).toEqual([]);
  });

  it("when the stream drops after its ticket expired, reconnects with a fresh ticket from the last event id: no gap, no duplicate", async () => {
    // Let the ticket expire (the open stream outlives it), then cut the connection.
    await sleep(Math.max(0, ticketAskedAt + TICKET_TTL_SECONDS * 1000 + 500 - Date.now()));
    const requestsBefore = proxy3.requests.length;
    const statesBefore = (await debug(p)).states.length;
    const oldUrl = streamRequests(proxy3, "demo").at(-1)!.split(" ")[1]!;
    proxy3.cutAll();
    await waitForState(p, "reconnecting", 5000);
    const lastBeforeDrop = (await debug(p)).ids.at(-1)!;
    await waitForState(p, "live", 20_000);

    // The browser's own retry, same URL and old ticket: refused (401, fatal). Then a fresh
    // ticket, and the composable's reconnect with it and ?lastEventId=.
    const after = proxy3.requests.slice(requestsBefore);
    const kinds = after.map((r) =>
      r.startsWith("POST /api/tickets") ? "ticket" : r.startsWith("GET /api/dashboards/demo/events") ? "stream" : "other",
    );
    expect(kinds.filter((k) => k !== "other")).toEqual(["stream", "ticket", "stream"]);
    const [retried, resumed] = streamRequests(proxy3, "demo", requestsBefore);
    expect(retried!.split(" ")[1]).toBe(oldUrl);
    expect(retried).toMatch(new RegExp(`^last-event-id: ${lastBeforeDrop}$`, "im"));
    const resumedUrl = new URL(resumed!.split(" ")[1]!, proxy3.url);
    expect(resumedUrl.searchParams.get("lastEventId")).toBe(lastBeforeDrop);
    const freshTicket = resumedUrl.searchParams.get("ticket");
    expect(freshTicket).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(freshTicket).not.toBe(new URL(oldUrl, proxy3.url).searchParams.get("ticket"));
    // An expired ticket is routine: "reconnecting", never "refused", and no form.
    const states = (await debug(p)).states.slice(statesBefore);
    expect(states).toContain("reconnecting");
    expect(states).not.toContain("refused");
    expect(states).not.toContain("auth");

    const seen = (await debug(p)).ids.length;
    await expect.poll(async () => (await debug(p)).ids.length, { timeout: 10_000 }).toBeGreaterThan(seen + 2);
    const ids = await expectContiguous(p, worker3.url, await ticketQuery());
    expect(ids.indexOf(lastBeforeDrop)).toBeGreaterThan(0);
    expect(ids.indexOf(lastBeforeDrop)).toBeLessThan(ids.length - 3);
    // /api/config: once per page load (goto and reload).
    expect(proxy3.requests.filter((r) => r.startsWith("GET /api/config "))).toHaveLength(2);
  });

  it("a 24 h link opened before the token draws its history once the token is given", async () => {
    const tab = await p.context().newPage(); // sessionStorage is per tab: no token here
    const answers: number[] = [];
    tab.on("response", (r) => r.url().includes("/series") && answers.push(r.status()));
    await tab.goto(`${proxy3.url}/?dashboard=demo&window=1440`);
    await waitForState(tab, "auth", 15_000);
    await tab.getByLabel("Viewer token", { exact: true }).fill(VIEWER_TOKEN);
    await tab.getByLabel("Viewer token", { exact: true }).press("Enter");
    await waitForState(tab, "live", 15_000);
    // The simulated minutes so far are in the rollups: the first chart has buckets.
    await expect
      .poll(() => tab.locator(".chart.history").first().getAttribute("data-points").then(Number), { timeout: 15_000 })
      .toBeGreaterThan(0);
    expect(answers.at(-1)).toBe(200);
    await tab.close();
  });
});

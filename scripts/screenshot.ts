// `npm run screenshot`: builds the client, serves it the production way (wrangler pages dev
// with the Pages Function bound to a wrangler dev of the Worker), lets the simulated publisher
// fill a one-minute window, and writes docs/screenshot.png from headless Chromium.
//
//   npm run screenshot                          dark theme, 1440×960, the liveliest dashboard
//   npm run screenshot -- --theme light --dashboard checkout-api --wait 30 --out /tmp/s.png
//   npm run screenshot -- --dashboards my-dashboards.json --dashboard wide --width 390
//                                               (DASHBOARDS for the Worker, instead of wrangler.toml's)
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { EventSource } from "eventsource";
import { buildWeb, launchBrowser, ROOT, sleep, startPages, startWorker, tempDir, triggerCron, type Server } from "../test/browser/stack.ts";

const { values } = parseArgs({
  options: {
    out: { type: "string", default: join(ROOT, "docs/screenshot.png") },
    theme: { type: "string", default: "dark" },
    dashboard: { type: "string" },
    wait: { type: "string", default: "66" },
    width: { type: "string", default: "1440" },
    height: { type: "string", default: "960" },
    scale: { type: "string", default: "1" },
    dashboards: { type: "string" },
    "full-page": { type: "boolean", default: false },
  },
});

const WINDOW_SECONDS = 60;

/** Alerts in the last window of each dashboard: the screenshot shows the one with most going on. */
async function liveliest(workerUrl: string, ids: string[]): Promise<string> {
  const counts = await Promise.all(
    ids.map(
      (id) =>
        new Promise<number>((done) => {
          let alerts = 0;
          const source = new EventSource(`${workerUrl}/api/dashboards/${id}/events?history=${WINDOW_SECONDS}`);
          source.addEventListener("alert", () => alerts++);
          // History arrives in one write right after connecting.
          setTimeout(() => {
            source.close();
            done(alerts);
          }, 1500);
        }),
    ),
  );
  let best = 0;
  for (let i = 1; i < ids.length; i++) if (counts[i]! > counts[best]!) best = i;
  console.log(`alerts in the last minute: ${ids.map((id, i) => `${id}=${counts[i]}`).join(", ")}`);
  return ids[best]!;
}

const stack: { stop: () => Promise<void> }[] = [];
const registry = await tempDir("rtd-screenshot-registry-");
const dist = await tempDir("rtd-screenshot-dist-");
async function cleanup(): Promise<void> {
  for (const part of stack.splice(0).reverse()) await part.stop().catch(() => {});
  await rm(registry, { recursive: true, force: true });
  await rm(dist, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}
try {
  console.log("starting wrangler dev and building the client…");
  // A JSON file with DASHBOARDS (a list as in wrangler.toml), passed to wrangler dev as a --var.
  const vars: Record<string, string> = {};
  if (values.dashboards) vars.DASHBOARDS = JSON.stringify(JSON.parse(await readFile(values.dashboards, "utf8")));
  const [worker] = await Promise.all([startWorker(registry, vars), buildWeb(dist)]);
  stack.push(worker);
  // Each trigger publishes for a minute; overlapping ones do not double up, and keep it seamless.
  triggerCron(worker.url);
  const cron = setInterval(() => triggerCron(worker.url), 30_000);
  stack.push({ stop: async () => clearInterval(cron) });
  const started = Date.now();
  const pages: Server = await startPages(registry, dist);
  stack.push(pages);

  const waitMs = Number(values.wait) * 1000 - (Date.now() - started);
  console.log(`publishing; waiting ${Math.max(0, Math.round(waitMs / 1000))} s for the one-minute charts to fill…`);
  await sleep(Math.max(0, waitMs));

  const ids = ((await (await fetch(`${worker.url}/api/dashboards`)).json()) as { id: string }[]).map((d) => d.id);
  const dashboard = values.dashboard ?? (await liveliest(worker.url, ids));

  const browser = await launchBrowser({
    colorScheme: values.theme === "light" ? "light" : "dark",
    viewport: { width: Number(values.width), height: Number(values.height) },
    deviceScaleFactor: Number(values.scale),
  });
  stack.push({ stop: browser.close });
  const page = await browser.context.newPage();
  await page.goto(`${pages.url}/?dashboard=${dashboard}&window=1`);
  await page.waitForSelector('.status[data-state="live"]', { timeout: 20_000 });
  // Charts are drawn from history at once; give the next live sample a moment to land too.
  await page.waitForFunction(() => Number(document.querySelector(".chart")?.getAttribute("data-points")) > 10, null, { timeout: 20_000 });
  await sleep(1500);
  const out = resolve(values.out);
  await mkdir(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: values["full-page"] });
  console.log(`wrote ${out} (${dashboard})`);
} finally {
  await cleanup();
}

// `npm run agent -- --url <worker> --dashboard <id> [--interval 1000]`, with INGEST_TOKEN in the
// environment: streams this host's CPU, memory, load and network to the dashboard until stopped.
// Ctrl-C (or SIGTERM) exports what was collected since the last export, then exits.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { DASHBOARD_ID_RE, startAgent } from "./agent.ts";

const USAGE = "usage: INGEST_TOKEN=<token> npm run agent -- --url <worker origin> --dashboard <id> [--interval <ms>]";

function fail(message: string): never {
  console.error(`agent: ${message}\n${USAGE}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      url: { type: "string" },
      dashboard: { type: "string" },
      interval: { type: "string", default: "1000" },
      help: { type: "boolean", short: "h", default: false },
    },
  }));
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.url) fail("--url is required (the Worker's origin, e.g. http://127.0.0.1:8787)");
let url: URL;
try {
  url = new URL(values.url);
} catch {
  fail(`--url ${JSON.stringify(values.url)} is not a URL`);
}
if (url.protocol !== "http:" && url.protocol !== "https:") fail(`--url must be http:// or https://, got ${url.protocol}`);
if (!values.dashboard || !DASHBOARD_ID_RE.test(values.dashboard))
  fail(`--dashboard must be a dashboard id matching ${DASHBOARD_ID_RE.source}`);
const intervalMs = Number(values.interval);
if (!Number.isInteger(intervalMs) || intervalMs < 100)
  fail(`--interval must be a whole number of ms, at least 100, got ${values.interval}`);
const token = process.env.INGEST_TOKEN;
if (!token) fail("INGEST_TOKEN is not set: export the Worker's ingest token (npm run dev uses local-dev-ingest-token)");

const agent = startAgent({ url: url.origin + url.pathname, dashboard: values.dashboard, token, intervalMs });
// The SDK's export timer is unref'd (it never keeps an application alive); here it is the application.
setInterval(() => {}, 2 ** 30);
console.log(`agent: ${hostname()} → ${agent.endpoint} every ${intervalMs} ms (failed exports are reported here)`);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) process.exit(1); // a second Ctrl-C does not wait for the last export
  stopping = true;
  const timer = setTimeout(() => process.exit(1), 5000).unref();
  try {
    await agent.stop();
  } finally {
    clearTimeout(timer);
  }
  console.log(`agent: stopped (${signal})`);
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

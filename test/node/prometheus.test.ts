// The real thing: Debian's prometheus-node-exporter and prometheus, configured with the three
// blocks of docs/ingest.md ("A node_exporter dashboard": prometheus.yml, its recording rule, the
// dashboard) with only the target, the URL and the token replaced, remote-writing to the
// Worker under `wrangler dev`. What arrives on the dashboard's SSE stream is compared with
// node_exporter's own /metrics, read by this test every 250 ms meanwhile.
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { EventSource } from "eventsource";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../tools/free-port.ts";
import { ROOT, sleep, startCommand, startWranglerDev, tempDir, waitForHttp, type Proc, type Server } from "../setup/processes.ts";

const TOKEN = "prometheus-e2e-ingest-token-0123";
const PROMETHEUS = process.env.PROMETHEUS_PATH ?? "/usr/bin/prometheus";
const NODE_EXPORTER = process.env.NODE_EXPORTER_PATH ?? "/usr/bin/prometheus-node-exporter";

/** The fenced block of docs/ingest.md whose first line is `# <title>`, without that line. */
function docBlock(doc: string, title: string): string {
  const block = [...doc.matchAll(/```\w+\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.startsWith(`# ${title}\n`));
  if (!block) throw new Error(`docs/ingest.md has no block starting "# ${title}"`);
  return block.slice(title.length + 3);
}

function replaceOnce(text: string, from: string, to: string): string {
  expect(text, `the docs' block says ${from}`).toContain(from);
  return text.replace(from, to);
}

/** One read of node_exporter's /metrics: when (the request's start and end) and the values this test compares. */
interface Reading {
  start: number;
  end: number;
  load1: number;
  memoryUsed: number;
  /** Σ over CPUs of node_cpu_seconds_total{mode="user"}, and the number of CPUs. */
  userSeconds: number;
  cpus: number;
}

function parseMetrics(text: string, start: number, end: number): Reading {
  const value = (re: RegExp) => {
    const m = re.exec(text);
    if (!m) throw new Error(`node_exporter /metrics has no ${re.source}`);
    return Number(m[1]);
  };
  const user = [...text.matchAll(/^node_cpu_seconds_total\{cpu="\d+",mode="user"\} (\S+)$/gm)].map((m) => Number(m[1]));
  return {
    start,
    end,
    load1: value(/^node_load1 (\S+)$/m),
    memoryUsed: 1 - value(/^node_memory_MemAvailable_bytes (\S+)$/m) / value(/^node_memory_MemTotal_bytes (\S+)$/m),
    userSeconds: user.reduce((a, b) => a + b, 0),
    cpus: user.length,
  };
}

let dir: string;
let worker: Server | undefined;
let nodeExporter: Proc | undefined;
let prometheus: Proc | undefined;
let nodeUrl = "";
let promUrl = "";
const readings: Reading[] = [];
let sampling = true;
let sampler: Promise<void> = Promise.resolve();

beforeAll(async () => {
  for (const [path, pkg] of [
    [PROMETHEUS, "prometheus"],
    [NODE_EXPORTER, "prometheus-node-exporter"],
  ]) {
    if (!existsSync(path)) throw new Error(`${path} is missing: this test runs Debian's ${pkg} (apt-get install ${pkg}; .ci/run does)`);
  }
  dir = await tempDir("rtd-prometheus-");
  const doc = await readFile(join(ROOT, "docs/ingest.md"), "utf8");
  const dashboard = (parse(`DASHBOARDS = [${docBlock(doc, "DASHBOARDS entry")}]`) as { DASHBOARDS: unknown[] }).DASHBOARDS;
  worker = await startWranglerDev({ vars: { INGEST_TOKEN: TOKEN, DASHBOARDS: JSON.stringify(dashboard) } });

  const nodePort = await freePort();
  nodeUrl = `http://127.0.0.1:${nodePort}`;
  // The collectors the dashboard reads (the defaults would do too, with more to ignore and scrape).
  nodeExporter = startCommand("prometheus-node-exporter", NODE_EXPORTER, [
    `--web.listen-address=127.0.0.1:${nodePort}`,
    "--collector.disable-defaults",
    ...["cpu", "loadavg", "meminfo", "netdev"].map((c) => `--collector.${c}`),
  ]);
  await waitForHttp(`${nodeUrl}/metrics`, nodeExporter, 20_000, (s) => s === 200);
  sampler = (async () => {
    while (sampling) {
      const start = Date.now();
      const text = await fetch(`${nodeUrl}/metrics`).then((r) => r.text());
      readings.push(parseMetrics(text, start, Date.now()));
      await sleep(250);
    }
  })();

  let config = docBlock(doc, "prometheus.yml");
  config = replaceOnce(config, '"localhost:9100"', `"127.0.0.1:${nodePort}"`);
  config = replaceOnce(config, "https://<worker>/", `${worker.url}/`);
  config = replaceOnce(config, "<INGEST_TOKEN>", TOKEN);
  await writeFile(join(dir, "prometheus.yml"), config);
  await writeFile(join(dir, "dashboard-rules.yml"), docBlock(doc, "dashboard-rules.yml"));
}, 120_000);

afterAll(async () => {
  sampling = false;
  await sampler.catch(() => {});
  await Promise.all([prometheus?.stop(), nodeExporter?.stop(), worker?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Update {
  time: number;
  values: Record<string, number>;
}

/** The readings whose request started within [from, to] (ms). */
const readingsIn = (from: number, to: number) => readings.filter((r) => r.start >= from && r.start <= to);

describe("Prometheus remote write, end to end (node_exporter → prometheus → wrangler dev)", () => {
  it("load, the memory ratio and the CPU rate arrive within 15 s and agree with node_exporter's /metrics", async () => {
    const updates: Update[] = [];
    const source = new EventSource(`${worker!.url}/api/dashboards/node/events?history=0`);
    try {
      source.addEventListener("metric-update", (e) => {
        const { timestamp, ...values } = JSON.parse(e.data) as Record<string, number | string>;
        updates.push({ time: Date.parse(timestamp as string), values: values as Record<string, number> });
      });
      await new Promise((resolve, reject) => {
        source.addEventListener("open", resolve, { once: true });
        setTimeout(() => reject(new Error("the stream did not open")), 10_000);
      });

      const promPort = await freePort();
      promUrl = `http://127.0.0.1:${promPort}`;
      const started = Date.now();
      prometheus = startCommand("prometheus", PROMETHEUS, [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ]);
      const got = (metric: string) => updates.filter((u) => metric in u.values);
      const arrived = () => ["load1", "memory_used", "cpu_user"].every((m) => got(m).length > 0);
      while (!arrived()) {
        if (Date.now() - started > 15_000 || prometheus.child.exitCode !== null) {
          throw new Error(
            `not all of load1, memory_used, cpu_user within 15 s: ${JSON.stringify(updates)}\n${prometheus.output().slice(-3000)}`,
          );
        }
        await sleep(100);
      }
      const within = Date.now() - started;
      const firstAt = Object.fromEntries(["load1", "memory_used", "cpu_user"].map((m) => [m, got(m)[0]!.time - started]));
      // Enough CPU rates for a rate over several seconds, and readings past the last of them.
      while (got("cpu_user").length < 6) {
        if (Date.now() - started > 45_000) throw new Error(`too few CPU rates: ${JSON.stringify(updates)}`);
        await sleep(100);
      }
      // What is checked arrived by now; readings continue past its last timestamp.
      const checked = [...updates];
      const has = (metric: string) => checked.filter((u) => metric in u.values);
      await sleep(1_500);

      // Load: the kernel updates it every 5 s, so node_exporter said the same (to 2 decimals)
      // in a read within 1.5 s of Prometheus's scrape.
      const bracketed = (t: number, before: number, after: number) => {
        expect(readingsIn(t - before, t).length, "a read of node_exporter before the scrape").toBeGreaterThan(0);
        expect(readingsIn(t, t + after).length, "and one after it").toBeGreaterThan(0);
        return readingsIn(t - before, t + after);
      };
      for (const u of has("load1")) {
        const around = bracketed(u.time, 1_500, 1_500).map((r) => r.load1.toFixed(2));
        expect(around, `load1 ${u.values.load1} at ${new Date(u.time).toISOString()}`).toContain(u.values.load1!.toFixed(2));
      }
      // Memory: the rule reads the last scrape before its evaluation; within 0.5 points of what
      // node_exporter said around then.
      for (const u of has("memory_used")) {
        const around = bracketed(u.time, 3_000, 1_000).map((r) => r.memoryUsed * 100);
        expect(u.values.memory_used!).toBeGreaterThanOrEqual(Math.min(...around) - 0.5);
        expect(u.values.memory_used!).toBeLessThanOrEqual(Math.max(...around) + 0.5);
      }
      // CPU user %: per-second rates between consecutive scrapes add up, over the whole span, to
      // node_exporter's counters' increase between reads at its ends (reads ≤ 250 ms off them).
      const cpu = has("cpu_user");
      let weighted = 0;
      for (let i = 1; i < cpu.length; i++) weighted += cpu[i]!.values.cpu_user! * (cpu[i]!.time - cpu[i - 1]!.time);
      const first = cpu[0]!.time;
      const last = cpu[cpu.length - 1]!.time;
      const streamed = weighted / (last - first);
      const nearest = (t: number) => readings.reduce((a, b) => (Math.abs(b.start - t) < Math.abs(a.start - t) ? b : a));
      const [a, b] = [nearest(first), nearest(last)];
      const exporter = ((b.userSeconds - a.userSeconds) / ((b.start - a.start) / 1000) / a.cpus) * 100;
      // A wrong unit (ms, per minute, a sum for an average) is off by 2× to 1000×; timing, by far less.
      expect(streamed, `streamed ${streamed} %, node_exporter ${exporter} % over ${(last - first) / 1000} s`).toBeGreaterThan(
        Math.min(exporter / 1.3, exporter - 3),
      );
      expect(streamed).toBeLessThan(Math.max(exporter * 1.3, exporter + 3));

      // Prometheus sent without a single failure (every 4xx would count here).
      const promMetrics = await fetch(`${promUrl}/metrics`).then((r) => r.text());
      const sum = (name: string) =>
        [...promMetrics.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "gm"))].reduce((s, m) => s + Number(m[1]), 0);
      expect(sum("prometheus_remote_storage_samples_failed_total")).toBe(0);
      expect(sum("prometheus_remote_storage_samples_total")).toBeGreaterThan(0);
      console.log(
        `prometheus.test: all three within ${within} ms of starting Prometheus (their first timestamps at ${JSON.stringify(firstAt)} ms); ${updates.length} updates, CPU user ${streamed.toFixed(1)} % streamed vs ${exporter.toFixed(1)} % from node_exporter over ${((last - first) / 1000).toFixed(1)} s`,
      );
    } finally {
      source.close();
    }
  }, 90_000);
});

// `npm run agent` against a tiny local OTLP/HTTP receiver: what it sends (path, token, protobuf,
// gzip), what the series are (decoded with the Worker's own decoder), its one-line status on
// failed exports, its last export on SIGTERM and its refusal to start without a token.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { cpus } from "node:os";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { decodeOtlpMetrics } from "../../worker/protocols/otlp.ts";
import type { Point } from "../../worker/protocols/points.ts";

const TOKEN = "agent-test-token-0123456789";

interface Received {
  at: number;
  url: string;
  headers: IncomingHttpHeaders;
  points: Point[];
}

let server: Server | undefined;
let agent: ChildProcess | undefined;

afterEach(async () => {
  if (agent && agent.exitCode === null && agent.signalCode === null) {
    agent.kill("SIGKILL");
    await once(agent, "exit");
  }
  agent = undefined;
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A receiver answering `status()` to every request after `delayMs()`, keeping what arrived. */
async function receiver(status: () => number = () => 200, delayMs: () => number = () => 0) {
  const received: Received[] = [];
  const open = { now: 0, max: 0 };
  server = createServer((req, res) => {
    open.max = Math.max(open.max, ++open.now);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
      received.push({
        at: Date.now(),
        url: req.url!,
        headers: req.headers,
        points: decodeOtlpMetrics(new Uint8Array(body), "protobuf").points,
      });
      const code = status();
      setTimeout(() => {
        open.now--;
        res.writeHead(code, { "content-type": "application/x-protobuf" }).end(code === 200 ? undefined : "bad token");
      }, delayMs());
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, received, open };
}

function startCli(args: string[], env: NodeJS.ProcessEnv = { INGEST_TOKEN: TOKEN }): { child: ChildProcess; output: () => string } {
  const { INGEST_TOKEN: _, ...rest } = process.env;
  const child = spawn(process.execPath, ["tools/agent/cli.ts", ...args], { env: { ...rest, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d));
  child.stderr!.on("data", (d: Buffer) => (output += d));
  agent = child;
  return { child, output: () => output };
}

async function until(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what()} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const pointsOf = (r: Received, name: string, attrs: Record<string, string> = {}) =>
  r.points.filter((p) => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));

describe("npm run agent", () => {
  it("exports the host's CPU, memory, load and network once a second over OTLP/HTTP protobuf", async () => {
    const { url, received } = await receiver();
    const { output } = startCli(["--url", url, "--dashboard", "this-machine"]);
    await until(
      () => received.length >= 4,
      15_000,
      () => `${received.length} exports:\n${output()}`,
    );

    for (const r of received) {
      expect(r.url).toBe("/api/dashboards/this-machine/otlp/v1/metrics");
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(r.headers["content-type"]).toBe("application/x-protobuf");
      expect(r.headers["content-encoding"]).toBe("gzip");
    }
    // 1 Hz: four exports take about three seconds.
    const span = received[3]!.at - received[0]!.at;
    expect(span).toBeGreaterThan(2000);
    expect(span).toBeLessThan(6000);

    const last = received.at(-1)!;
    // Utilization per logical CPU and state, 0–1 (a little over 1 when the interval ran long).
    const user = pointsOf(last, "system.cpu.utilization", { "system.cpu.state": "user" });
    expect(user).toHaveLength(cpus().length);
    for (const p of [...user, ...pointsOf(last, "system.cpu.utilization", { "system.cpu.state": "system" })]) {
      expect(p.kind).toBe("gauge");
      expect(p.value).toBeGreaterThanOrEqual(0);
      expect(p.value).toBeLessThan(1.2);
    }
    const [memory] = pointsOf(last, "system.memory.utilization", { "system.memory.state": "used" });
    expect(memory!.value).toBeGreaterThan(0);
    expect(memory!.value).toBeLessThanOrEqual(1);
    for (const name of ["system.cpu.load_average.1m", "system.cpu.load_average.5m", "system.cpu.load_average.15m"]) {
      const [load] = pointsOf(last, name);
      expect(load, name).toMatchObject({ kind: "gauge" });
      expect(load!.value).toBeGreaterThanOrEqual(0);
    }
    // Network bytes: cumulative monotonic counters per interface and direction.
    const rx = pointsOf(last, "system.network.io", { "network.io.direction": "receive" });
    expect(rx.length).toBeGreaterThan(0);
    expect(rx[0]).toMatchObject({ kind: "sum", monotonic: true, temporality: "cumulative" });
    expect(typeof rx[0]!.attributes["system.device"]).toBe("string");
    expect(pointsOf(last, "system.network.io", { "network.io.direction": "transmit" }).length).toBe(rx.length);
    expect(last.points[0]!.attributes["service.name"]).toBe("realtime-dashboard-agent");
    // Successes are not logged: only the start line.
    expect(output().trim().split("\n")).toHaveLength(1);
  });

  it("reports each failed export on one line, and when exports work again", async () => {
    let refuse = true;
    const { url, received } = await receiver(() => (refuse ? 401 : 200));
    const { output } = startCli(["--url", url, "--dashboard", "this-machine"]);
    await until(() => received.length >= 2, 15_000, output);
    refuse = false;
    await until(() => output().includes("export ok again"), 10_000, output);
    const failures = output()
      .split("\n")
      .filter((l) => l.includes("export failed"));
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures[0]).toMatch(/^\d\d:\d\d:\d\d export failed: HTTP 401 bad token$/);
  });

  it("sends one export at a time to a slow receiver, skipping collections meanwhile", async () => {
    let slow = true;
    const { url, received, open } = await receiver(undefined, () => (slow ? 3500 : 0));
    const { output } = startCli(["--url", url, "--dashboard", "this-machine"]);
    await until(() => received.length >= 1, 15_000, output);
    slow = false;
    await until(() => received.length >= 3, 15_000, output);
    expect(open.max).toBe(1);
    expect(output()).toMatch(/\d\d:\d\d:\d\d slow export \([3-9]\.\d s\): [1-9]\d* skipped meanwhile/);
    expect(output()).not.toContain("export failed");
  });

  it("exports once more and exits 0 on SIGTERM", async () => {
    const { url, received } = await receiver();
    const { child, output } = startCli(["--url", url, "--dashboard", "this-machine", "--interval", "5000"]);
    await until(() => output().includes("agent:"), 10_000, output);
    await new Promise((r) => setTimeout(r, 500));
    expect(received).toHaveLength(0);
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(0);
    expect(received).toHaveLength(1);
    expect(pointsOf(received[0]!, "system.memory.utilization").length).toBeGreaterThan(0);
    expect(output()).toContain("agent: stopped (SIGTERM)");
  });

  it("refuses to start without INGEST_TOKEN or with bad arguments, saying what is missing", async () => {
    for (const [args, env, message] of [
      [["--url", "http://127.0.0.1:9", "--dashboard", "this-machine"], {}, "INGEST_TOKEN is not set"],
      [["--dashboard", "this-machine"], { INGEST_TOKEN: TOKEN }, "--url is required"],
      [["--url", "http://127.0.0.1:9", "--dashboard", "Not_An_Id"], { INGEST_TOKEN: TOKEN }, "--dashboard must be a dashboard id"],
      [["--url", "http://127.0.0.1:9", "--dashboard", "x", "--interval", "fast"], { INGEST_TOKEN: TOKEN }, "--interval must be"],
    ] as const) {
      const { child, output } = startCli([...args], env);
      const [code] = (await once(child, "exit")) as [number | null];
      expect(code, args.join(" ")).toBe(2);
      expect(output()).toContain(message);
      expect(output()).toContain("usage: INGEST_TOKEN=<token> npm run agent");
    }
  });
});

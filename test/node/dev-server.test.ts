// `npm run dev` as a developer runs it: wrangler dev plus the cron trigger. Metrics must flow
// within seconds with no manual step, one by one as published (wrangler dev must not buffer).
import { spawn, type ChildProcess } from "node:child_process";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../tools/free-port.ts";

let dev: ChildProcess;
let output = "";
let workerPort = 0;

beforeAll(async () => {
  workerPort = await freePort();
  const webPort = await freePort();
  dev = spawn("node", ["scripts/dev.ts", "--worker-port", String(workerPort), "--web-port", String(webPort)], {
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    detached: true, // its own process group, so teardown stops wrangler and vite too
  });
  dev.stdout!.on("data", (d: Buffer) => (output += d));
  dev.stderr!.on("data", (d: Buffer) => (output += d));
  const deadline = Date.now() + 60_000;
  while (!output.includes("Dashboard:")) {
    if (Date.now() > deadline || dev.exitCode !== null) throw new Error(`npm run dev did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 90_000);

afterAll(async () => {
  if (dev?.pid) process.kill(-dev.pid, "SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
});

describe("npm run dev", () => {
  it("serves live metrics over SSE within seconds, unbuffered, with no manual step", async () => {
    const source = new EventSource(`http://127.0.0.1:${workerPort}/api/dashboards/demo/events?history=0`);
    const arrivals: { id: string; at: number; data: Record<string, unknown> }[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no metrics within 15 s:\n${output.slice(-3000)}`)), 15_000);
        source.addEventListener("metric-update", (e) => {
          arrivals.push({ id: e.lastEventId, at: Date.now(), data: JSON.parse(e.data) });
          if (arrivals.length === 3) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    } finally {
      source.close();
    }
    expect(Object.keys(arrivals[0]!.data)).toEqual(["cpu", "memory", "rps", "activeConnections", "errorRate", "timestamp"]);
    // Published once a second and delivered as published, not in one buffered burst.
    expect(arrivals[2]!.at - arrivals[0]!.at).toBeGreaterThan(1500);
    expect(new Set(arrivals.map((a) => a.id)).size).toBe(3);
  });

  it("accepts ingest with the local dev token it prints, and viewers get the alert", async () => {
    expect(output).toContain("Bearer local-dev-ingest-token");
    const source = new EventSource(`http://127.0.0.1:${workerPort}/api/dashboards/edge-cache/events?history=0&metrics=cpu`);
    const alert = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no alert within 10 s")), 10_000);
      source.addEventListener("alert", (e) => {
        const data = JSON.parse(e.data);
        if (data.value === 97.5) {
          clearTimeout(timer);
          resolve(data);
        }
      });
    });
    await new Promise((r) => source.addEventListener("open", r, { once: true }));
    const response = await fetch(`http://127.0.0.1:${workerPort}/api/dashboards/edge-cache/metrics`, {
      method: "POST",
      headers: { Authorization: "Bearer local-dev-ingest-token", "Content-Type": "application/json" },
      // A calm sample first, in the same publish, so the simulator's own state cannot hide the alert.
      body: JSON.stringify([
        { cpu: 1, memory: 60, rps: 900, activeConnections: 80, errorRate: 0.5 },
        { cpu: 97.5, memory: 60, rps: 900, activeConnections: 80, errorRate: 0.5 },
      ]),
    });
    expect(response.status).toBe(202);
    try {
      expect(await alert).toMatchObject({ level: "critical", metric: "cpu", value: 97.5, threshold: 90 });
    } finally {
      source.close();
    }
  });
});

// Health checks against real HTTP servers on local ports (test/setup/check-servers.global.ts)
// that the test flips between up, wrong status, slow and closed. Runs are real fetches from
// workerd; only the clock each run is stamped with is driven by the test, so that runs count as
// a check's interval apart without waiting for it.
import { createScheduledController, env, SELF } from "cloudflare:test";
import "../setup/provided-context.ts";
import { describe, expect, inject, it } from "vitest";
import type { CheckAlert, CheckState, HealthEvent } from "../../contract/index.ts";
import { runCheck } from "../../worker/cron/checks.ts";
import { ConfigError, dashboardDef, readConfig } from "../../core/config/index.ts";
import worker from "../../worker/index.ts";
import { getJson, openStream, stub } from "./helpers.ts";

const flip = (name: string, mode: "up" | "status" | "slow" | "closed") =>
  fetch(`${inject("checkServerUrl")}/mode/${name}/${mode}`, { method: "POST" });

describe("health checks", () => {
  it("go down after 2 failures and up after 2 successes, with the failure's class and an alert each way", async () => {
    const def = dashboardDef(readConfig(env), "h1").checks.find((c) => c.name === "api")!;
    const stream = await openStream("/api/dashboards/h1/events?history=0");
    let clock = Date.now();
    const runs: { mode: "up" | "status" | "slow" | "closed" }[] = ["up", "up", "status", "status", "slow", "closed", "up", "up"].map(
      (mode) => ({ mode: mode as never }),
    );
    for (const { mode } of runs) {
      await flip("api", mode);
      clock += 10_000;
      const run = await runCheck(def, () => clock);
      await stub("h1").recordCheck({ name: "api", run });
    }
    const events = await stream.waitFor(10);
    const health = events.filter((e) => e.event === "health").map((e) => JSON.parse(e.data) as HealthEvent);
    expect(health.map((h) => [h.status, h.ok, h.error ?? null, h.statusCode ?? null])).toEqual([
      ["up", true, null, 200],
      ["up", true, null, 200],
      ["up", false, "unexpected_status", 503], // one failure is not enough
      ["down", false, "unexpected_status", 503],
      ["down", false, "timeout", null],
      ["down", false, "connection", null],
      ["down", true, null, 200], // one success is not enough
      ["up", true, null, 200],
    ]);
    // Timings: a timeout is reported at the check's timeout (300 ms), not at the server's 2 s.
    expect(health[4]!.latencyMs).toBeGreaterThanOrEqual(290);
    expect(health[4]!.latencyMs).toBeLessThan(1500);
    expect(health[4]!.detail).toBe("timeout after 300 ms");
    expect(health[3]!.detail).toBe("expected 200, got 503");
    for (const h of [health[0]!, health[7]!]) expect(h.latencyMs).toBeLessThan(300);
    const alerts = events.filter((e) => e.event === "alert").map((e) => JSON.parse(e.data) as CheckAlert);
    expect(alerts.map((a) => [a.level, a.check, a.status])).toEqual([
      ["critical", "api", "down"],
      ["resolved", "api", "up"],
    ]);
    expect(alerts[0]!.message).toBe('check "api" is down: expected 200, got 503');
    expect(alerts[1]!.message).toMatch(/^check "api" recovered: 200 in \d+ ms$/);
    // In order on the wire: the down alert right after the health event that caused it.
    expect(events.map((e) => e.event).slice(3, 5)).toEqual(["health", "alert"]);

    const { body } = await getJson<CheckState[]>("/api/dashboards/h1/checks");
    const api = body.find((c) => c.name === "api")!;
    expect(api).toMatchObject({ status: "up", intervalSeconds: 10, since: health[7]!.timestamp });
    expect(api.lastRun).toEqual(health[7]);
    expect(body.find((c) => c.name === "refused")).toMatchObject({ status: null, lastRun: null });
    await stream.close();
  });

  it("classify a refused connection, and count a run only once per half interval", async () => {
    const def = dashboardDef(readConfig(env), "h1").checks.find((c) => c.name === "refused")!;
    const run = await runCheck(def);
    expect(run).toMatchObject({ ok: false, error: "connection" });
    const first = await stub("h1").recordCheck({ name: "refused", run });
    expect(first.events.map((e) => e.event)).toEqual(["health", "alert"]); // downAfter = 1
    const again = await stub("h1").recordCheck({ name: "refused", run: { ...run, at: run.at + 4000 } });
    expect(again.duplicate).toBe(true);
  });

  it("run from the cron Worker: the first run of each check lands at the start of the invocation", async () => {
    await flip("cron", "up");
    const stream = await openStream("/api/dashboards/h2/events?history=0&logs=none");
    const controller = createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" });
    await worker.scheduled(controller, env);
    const [event] = await stream.waitFor(1);
    expect(event!.event).toBe("health");
    expect(JSON.parse(event!.data)).toMatchObject({ name: "cron", status: "up", ok: true, statusCode: 200 });
    await stream.close();
  });

  it.each([
    [[{ name: "a", url: "ftp://x.example/" }], 'check "a": url must be http or https'],
    [[{ name: "a", url: "not a url" }], 'check "a": url "not a url" is not a URL'],
    [[{ name: "a", url: "https://x.example/", intervalSeconds: 5 }], 'check "a": intervalSeconds must be a whole number from 10 to 3600'],
    [[{ name: "a", url: "https://x.example/", method: "DELETE" }], 'check "a": method must be one of GET, HEAD, POST'],
    [[{ name: "a", url: "https://x.example/", every: 5 }], 'check "a": unknown key "every"'],
    [
      [
        { name: "a", url: "https://x.example/" },
        { name: "a", url: "https://y.example/" },
      ],
      'check "a": is defined twice',
    ],
    [
      [{ name: "a", url: "https://x.example/", timeoutMs: 20_000, intervalSeconds: 10 }],
      'check "a": timeoutMs 20000 must be shorter than the interval',
    ],
    [[{ url: "https://x.example/" }], "checks[0]: name undefined must match"],
  ])("refuse a bad definition at startup: %j", (checks, message) => {
    const read = () => readConfig({ ...env, DASHBOARDS: [{ id: "shop", checks }] } as Env);
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(`DASHBOARDS: dashboard "shop": ${message}`);
  });

  it("GET /api/health stays about the product itself", async () => {
    const response = await SELF.fetch("https://dash.test/api/health");
    expect(Object.keys((await response.json()) as object).sort()).toEqual(["eventLog", "status"]);
  });
});

import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ApiError, IngestResult } from "../../contract/index.ts";
import { openStream } from "./helpers.ts";

const TOKEN = "test-ingest-token-0123456789";
const good = { cpu: 42.04, memory: 63.15, rps: 1250, activeConnections: 140, errorRate: 0.333 };

function ingest(dashboard: string, body: unknown, init: { token?: string | null; type?: string; raw?: BodyInit } = {}) {
  const headers: Record<string, string> = { "Content-Type": init.type ?? "application/json" };
  if (init.token !== null) headers.Authorization = `Bearer ${init.token ?? TOKEN}`;
  return SELF.fetch(`https://dash.test/api/dashboards/${dashboard}/metrics`, {
    method: "POST",
    headers,
    body: init.raw ?? JSON.stringify(body),
  });
}

async function expectError(response: Response, status: number, error: string, mentions?: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await response.json()) as ApiError;
  expect(body.error).toBe(error);
  if (mentions) expect(body.message).toContain(mentions);
}

describe("ingest: POST /api/dashboards/:id/metrics", () => {
  it("accepts one sample, rounds it to the contract's precision, and viewers receive it", async () => {
    const stream = await openStream("/api/dashboards/t23/events?history=0");
    // A minute ago, written in another time zone.
    const at = Math.floor((Date.now() - 60_000) / 1000) * 1000;
    const stamped = `${new Date(at + 3_600_000).toISOString().slice(0, 19)}+01:00`;
    const response = await ingest("t23", { ...good, timestamp: stamped });
    expect(response.status).toBe(202);
    const result = (await response.json()) as IngestResult;
    expect(result.ids).toHaveLength(1);
    expect(result.alertIds).toEqual([]);
    const [event] = await stream.waitFor(1);
    expect(event!.id).toBe(result.ids[0]);
    expect(JSON.parse(event!.data)).toEqual({
      cpu: 42,
      memory: 63.2,
      rps: 1250,
      activeConnections: 140,
      errorRate: 0.33,
      timestamp: new Date(at).toISOString(),
    });
    await stream.close();
  });

  it("accepts up to 100 samples at once; they go through the alert rules", async () => {
    const stream = await openStream("/api/dashboards/t24/events?history=0");
    const samples = [{ ...good }, { ...good, cpu: 95 }, { ...good }];
    const response = await ingest("t24", samples);
    expect(response.status).toBe(202);
    const result = (await response.json()) as IngestResult;
    expect(result.ids).toHaveLength(3);
    expect(result.alertIds).toHaveLength(2); // critical, then resolved
    const events = await stream.waitFor(5);
    expect(events.map((e) => e.event)).toEqual(["metric-update", "metric-update", "alert", "metric-update", "alert"]);
    expect(events.filter((e) => e.event === "alert").map((e) => JSON.parse(e.data).level)).toEqual(["critical", "resolved"]);
    expect(events.filter((e) => e.event === "metric-update").map((e) => e.id)).toEqual(result.ids);
    const ok = await ingest(
      "t24",
      Array.from({ length: 100 }, () => good),
    );
    expect(ok.status).toBe(202);
    await stream.close();
  });

  it("keeps the seed's five byte for byte: the same metric-update and alert payloads as before definitions existed", async () => {
    const stream = await openStream("/api/dashboards/t34/events?history=0");
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 2000).toISOString();
    const response = await ingest("t34", { ...good, cpu: 95.04, timestamp: at });
    expect(response.status).toBe(202);
    const raw = await stream.waitForRaw((text) => text.includes("event: alert"));
    const frames = raw.split("\n\n").filter((f) => f.startsWith("id: "));
    expect(frames.map((f) => f.split("\n").slice(1).join("\n"))).toEqual([
      `event: metric-update\ndata: {"cpu":95,"memory":63.2,"rps":1250,"activeConnections":140,"errorRate":0.33,"timestamp":"${at}"}`,
      `event: alert\ndata: {"level":"critical","metric":"cpu","value":95,"threshold":90,"message":"CPU 95% is above critical threshold 90%","timestamp":"${at}"}`,
    ]);
    await stream.close();
  });

  it("401 without a token, with a wrong one, or with another scheme", async () => {
    await expectError(await ingest("t25", good, { token: null }), 401, "unauthorized", "Bearer");
    await expectError(await ingest("t25", good, { token: "wrong-token-0123456789" }), 401, "unauthorized");
    await expectError(await ingest("t25", good, { token: `${TOKEN}x` }), 401, "unauthorized");
    const basic = await SELF.fetch("https://dash.test/api/dashboards/t25/metrics", {
      method: "POST",
      headers: { Authorization: `Basic ${btoa("a:b")}`, "Content-Type": "application/json" },
      body: JSON.stringify(good),
    });
    await expectError(basic, 401, "unauthorized");
  });

  it.each([
    [{ ...good, cpu: 100.1 }, "cpu"],
    [{ ...good, memory: -1 }, "memory"],
    [{ ...good, rps: 1.5 }, "rps"],
    [{ ...good, activeConnections: -3 }, "activeConnections"],
    [{ ...good, errorRate: "1" }, "errorRate"],
    [{ ...good, cpu: undefined }, "cpu"],
    [{ ...good, disk: 3 }, "disk"],
    [{ ...good, timestamp: "yesterday" }, "timestamp"],
    [{ ...good, timestamp: "2999-01-01T00:00:00Z" }, "timestamp"],
    [{ ...good, timestamp: "2000-01-01T00:00:00Z" }, "timestamp"],
    [[good, { ...good, rps: 1e300 }], "[1].rps"],
    [[], "empty"],
    [Array.from({ length: 101 }, () => good), "101 samples"],
    [null, "sample"],
    ["cpu=1", "sample"],
  ])("400 naming the problem for %j", async (body, field) => {
    await expectError(await ingest("t26", body), 400, "invalid_sample", field);
  });

  it("400 for malformed JSON, 415 for other content types, 413 over 64 KB, 404 for unknown dashboards", async () => {
    await expectError(await ingest("t26", null, { raw: '{"cpu": 1,' }), 400, "invalid_json");
    await expectError(await ingest("t26", good, { type: "text/plain" }), 415, "unsupported_media_type");
    await expectError(await ingest("t26", good, { type: "application/x-www-form-urlencoded" }), 415, "unsupported_media_type");
    const big = JSON.stringify(Array.from({ length: 100 }, () => ({ ...good, padding: "x".repeat(700) })));
    expect(big.length).toBeGreaterThan(64 * 1024);
    await expectError(await ingest("t26", null, { raw: big }), 413, "payload_too_large");
    await expectError(await ingest("nope", good), 404, "dashboard_not_found");
    await expectError(await ingest("Bad_Id", good), 400, "invalid_dashboard_id");
  });

  it("never publishes anything from a rejected request", async () => {
    const stream = await openStream("/api/dashboards/t27/events?history=0");
    await ingest("t27", [good, { ...good, cpu: 101 }]);
    await ingest("t27", good, { token: "nope-nope-nope-nope" });
    const ok = (await (await ingest("t27", good)).json()) as IngestResult;
    const [first] = await stream.waitFor(1);
    expect(first!.id).toBe(ok.ids[0]);
    await stream.close();
  });
});

import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app.ts";
import { ConfigError, readConfig } from "../../core/config/index.ts";
import { shippedEnv, shippedVars } from "./shipped-config.ts";

const read = (overrides: Record<string, unknown>) => () => readConfig({ ...env, ...overrides } as Env);

describe("configuration", () => {
  it("reads the shipped wrangler.toml defaults", () => {
    // The vars as the file ships them, not this project's bindings (HEARTBEAT_SECONDS 1, …).
    const config = readConfig(shippedEnv());
    expect(config).toMatchObject({
      retentionSeconds: 3600,
      historyDays: 7,
      heartbeatSeconds: 15,
      retryMs: 2000,
      publishIntervalMs: 1000,
      publishWindowSeconds: 60,
      maxStreamsPerDashboard: 5000,
      ticketTtlSeconds: 60,
      relaysPerDashboard: 0,
      streamsPerRelay: 2000,
      logRate: { perSecond: 200, burst: 2000 },
      pointRate: { perSecond: 50_000, burst: 100_000 },
      maxLogBytes: 256 * 1024 * 1024,
      otlpMaxBytes: 4 * 1024 * 1024,
      influxMaxBytes: 8 * 1024 * 1024,
      ingestToken: undefined,
      viewer: null,
      upstash: null,
      prometheusMaxBytes: 4 * 1024 * 1024,
    });
    expect(config.allowedOrigins).toContain("http://localhost:5173");
    expect(config.dashboards.map((d) => d.id)).toEqual(["demo", "checkout-api", "edge-cache", "this-machine"]);
    // A var left out of wrangler.toml falls back to the same value the file ships.
    const unset = Object.fromEntries(Object.keys(shippedVars).map((k) => [k, undefined]));
    const bare = readConfig({
      ...shippedEnv(),
      ...unset,
      DASHBOARDS: shippedVars.DASHBOARDS,
      ALLOWED_ORIGINS: shippedVars.ALLOWED_ORIGINS,
    } as Env);
    expect({ ...bare, dashboards: [] }).toEqual({ ...config, dashboards: [] });
  });

  it("reads TICKET_TTL_SECONDS as the lifetime of new viewer tickets (default 60 s)", async () => {
    expect(readConfig({ ...env } as Env).ticketTtlSeconds).toBe(60);
    const viewer = { VIEWER_SECRET: "viewer-secret-0123456789", VIEWER_TOKEN: "viewer-token-0123456789" };
    for (const [ttl, seconds] of [
      [undefined, 60],
      ["5", 5],
    ] as const) {
      const configured = { ...env, ...viewer, TICKET_TTL_SECONDS: ttl } as Env;
      expect(await (await app.request("https://dash.test/api/config", {}, configured)).json()).toEqual({
        viewerAuth: "ticket",
        ticketTtlSeconds: seconds,
      });
      const before = Date.now();
      const response = await app.request(
        "https://dash.test/api/tickets",
        {
          method: "POST",
          headers: { Authorization: `Bearer ${viewer.VIEWER_TOKEN}`, "Content-Type": "application/json" },
          body: '{"dashboard":"demo"}',
        },
        configured,
      );
      const { expiresAt } = (await response.json()) as { expiresAt: string };
      expect(Date.parse(expiresAt) - before).toBeGreaterThanOrEqual(seconds * 1000 - 1000);
      expect(Date.parse(expiresAt) - before).toBeLessThanOrEqual(seconds * 1000 + 1000);
    }
  });

  it.each([
    [{ UPSTASH_REDIS_REST_URL: "https://x.upstash.io" }, "UPSTASH_REDIS_REST_TOKEN"],
    [{ UPSTASH_REDIS_REST_TOKEN: "t" }, "UPSTASH_REDIS_REST_URL"],
    [{ UPSTASH_REDIS_REST_URL: "not a url", UPSTASH_REDIS_REST_TOKEN: "t" }, "not a URL"],
    [{ VIEWER_SECRET: "viewer-secret-0123456789" }, "VIEWER_TOKEN"],
    [{ VIEWER_SECRET: "short", VIEWER_TOKEN: "viewer-token-0123456789" }, "at least 16"],
    [{ INGEST_TOKEN: "short" }, "INGEST_TOKEN"],
    [{ ALLOWED_ORIGINS: "*" }, "may not be *"],
    [{ ALLOWED_ORIGINS: "https://a.example/path" }, "https://a.example"],
    [{ RETENTION_SECONDS: "an hour" }, "RETENTION_SECONDS"],
    [{ HEARTBEAT_SECONDS: "0" }, "HEARTBEAT_SECONDS"],
    [{ HISTORY_DAYS: "0" }, "HISTORY_DAYS must be a whole number from 1 to 90"],
    [{ HISTORY_DAYS: "7.5" }, "HISTORY_DAYS"],
    [{ HISTORY_DAYS: "91" }, "HISTORY_DAYS"],
    [{ HISTORY_DAYS: "a week" }, "HISTORY_DAYS"],
    [{ TICKET_TTL_SECONDS: "-1" }, "TICKET_TTL_SECONDS"],
    [{ DASHBOARDS: [] }, "DASHBOARDS"],
    [{ INGEST_POINTS_PER_SECOND: "fast" }, "INGEST_POINTS_PER_SECOND"],
    [{ INGEST_POINTS_BURST: "0" }, "INGEST_POINTS_BURST must be a whole number from 1"],
    [{ OTLP_MAX_BYTES: "100" }, "OTLP_MAX_BYTES must be a whole number from 1024"],
    [{ INFLUX_MAX_BYTES: "1.5" }, "INFLUX_MAX_BYTES"],
    [{ PROMETHEUS_MAX_BYTES: String(128 * 1024 * 1024) }, "PROMETHEUS_MAX_BYTES must be a whole number from 1024 to 67108864"],
    [{ DASHBOARDS: [{ id: "Bad Id", name: "x" }] }, "Bad Id"],
    [{ DASHBOARDS: [{ id: "a" }, { id: "a" }] }, "twice"],
  ])("refuses %j with a message naming it", (overrides, mention) => {
    expect(read(overrides)).toThrow(ConfigError);
    expect(read(overrides)).toThrow(mention);
  });
});

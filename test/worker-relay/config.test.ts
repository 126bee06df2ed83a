import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../../core/config/index.ts";
import { shippedEnv } from "../worker/shipped-config.ts";

const read = (overrides: Record<string, unknown>) => () => readConfig({ ...env, ...overrides } as Env);

describe("relay configuration", () => {
  it("is off by default (wrangler.toml) and on in this project", () => {
    // As wrangler.toml ships it (read from the file, not this project's bindings) …
    expect(readConfig(shippedEnv())).toMatchObject({ relaysPerDashboard: 0, streamsPerRelay: 2000 });
    // … and when the vars are left out.
    expect(readConfig({ ...env, RELAYS_PER_DASHBOARD: undefined, STREAMS_PER_RELAY: undefined } as unknown as Env)).toMatchObject({
      relaysPerDashboard: 0,
      streamsPerRelay: 2000,
    });
    expect(readConfig(env)).toMatchObject({ relaysPerDashboard: 3, streamsPerRelay: 16 });
  });

  it.each([
    [{ RELAYS_PER_DASHBOARD: "-1" }, "RELAYS_PER_DASHBOARD"],
    [{ RELAYS_PER_DASHBOARD: "2.5" }, "RELAYS_PER_DASHBOARD"],
    [{ RELAYS_PER_DASHBOARD: "101" }, "RELAYS_PER_DASHBOARD"],
    [{ RELAYS_PER_DASHBOARD: "ten" }, "RELAYS_PER_DASHBOARD"],
    [{ STREAMS_PER_RELAY: "0" }, "STREAMS_PER_RELAY"],
    [{ STREAMS_PER_RELAY: "1e9" }, "STREAMS_PER_RELAY"],
  ])("refuses %j with a message naming it", (overrides, mention) => {
    expect(read(overrides)).toThrow(ConfigError);
    expect(read(overrides)).toThrow(mention);
  });
});

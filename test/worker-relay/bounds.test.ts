// Bounds on anonymous work with relays (RELAYS_PER_DASHBOARD=3 in this project): /stats asks the
// relays at most once every 3 s however often it is read, and the per-client stream cap counts
// on each relay (a client holds at most 3 × MAX_STREAMS_PER_CLIENT streams of the dashboard).
import { runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ApiError, DashboardStats } from "../../contract/index.ts";
import type { Config } from "../../core/config/index.ts";
import { RELAY_REPORTS_MAX_AGE_MS } from "../../durable-objects/dashboard/relay-hub.ts";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import type { RelayObject } from "../../durable-objects/relay/relay.ts";
import type { DeliverBatch } from "../../core/rpc.ts";
import { getJson, streamOf, stub, type OpenStream } from "../worker/helpers.ts";
import { openOnRelay, relay } from "./helpers.ts";

const RELAYS = [0, 1, 2];

afterEach(() => vi.useRealTimers());

describe("bounds with relays", () => {
  it("computes /stats from the relays' reports at most once every few seconds", async () => {
    const streams = await Promise.all(RELAYS.map((i) => openOnRelay("b5", i)));
    // Count the report() calls the dashboard object makes of its relays.
    await runInDurableObject(stub("b5"), (obj: DashboardObject) => {
      const hub = (obj as unknown as { hub: { env: Env; reportCalls: Record<string, number> } }).hub;
      const { RELAY } = hub.env;
      hub.reportCalls = {};
      const getByName = (name: string) => {
        const relayStub = RELAY.getByName(name);
        return {
          report: () => ((hub.reportCalls[name] = (hub.reportCalls[name] ?? 0) + 1), relayStub.report()),
          deliver: (batch: DeliverBatch) => relayStub.deliver(batch),
        };
      };
      hub.env = { ...hub.env, RELAY: { getByName } as unknown as Env["RELAY"] };
    });
    const reports = () =>
      runInDurableObject(stub("b5"), (obj) => {
        const calls = (obj as unknown as { hub: { reportCalls: Record<string, number> } }).hub.reportCalls;
        return RELAYS.map((i) => calls[`b5:${i}`] ?? 0);
      });
    const stats = async () => (await getJson<DashboardStats>("/api/dashboards/b5/stats")).body;

    // The clock stands still while /stats is read 20 times (however long that takes here).
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const first = await Promise.all(Array.from({ length: 10 }, stats));
    for (let i = 0; i < 10; i++) first.push(await stats());
    expect(first.map((s) => s.connectedClients)).toEqual(Array(20).fill(3));
    expect(first.map((s) => s.relays)).toEqual(Array(20).fill(3));
    expect(await reports()).toEqual([1, 1, 1]);

    vi.setSystemTime(Date.now() + RELAY_REPORTS_MAX_AGE_MS);
    expect((await stats()).connectedClients).toBe(3);
    expect(await reports()).toEqual([2, 2, 2]);
    vi.useRealTimers();
    await Promise.all(streams.map((s) => s.close()));
  });

  it("caps a client's streams per relay, and places it on the relays that still have room for it", async () => {
    for (const i of RELAYS) {
      await runInDurableObject(relay("b6", i), (obj: RelayObject) => {
        const o = obj as unknown as { config: Config };
        o.config = { ...o.config, maxStreamsPerClient: 2 };
      });
    }
    const open = (address: string) =>
      SELF.fetch("https://dash.test/api/dashboards/b6/events?history=0", { headers: { "CF-Connecting-IP": address } });
    const held: OpenStream[] = [];
    for (let i = 0; i < 6; i++) held.push(await streamOf(await open("203.0.113.50")));
    const refused = await open("203.0.113.50");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await refused.json()) as ApiError).error).toBe("too_many_streams_from_client");
    held.push(await streamOf(await open("203.0.113.51")));
    await Promise.all(held.map((s) => s.close()));
  });
});

// Helpers for the relay tests: streams opened on a chosen relay object, and a way to lose the
// dashboard's pushes to a relay on purpose.
import { env, runInDurableObject } from "cloudflare:test";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import type { DeliverBatch } from "../../core/rpc.ts";
import type { RelayObject } from "../../durable-objects/relay/relay.ts";
import { streamOf, stub, type OpenStream } from "../worker/helpers.ts";

export { restart } from "../worker/helpers.ts";

export function relay(dashboard: string, i: number) {
  return env.RELAY.getByName(`${dashboard}:${i}`);
}

export interface RelayView {
  session: string | null;
  synced: boolean;
  viewers: number;
}

/** What relay `i` of `dashboard` is doing (read inside the object). */
export async function relayState(dashboard: string, i: number): Promise<RelayView> {
  return runInDurableObject(relay(dashboard, i), (obj: RelayObject) => {
    const o = obj as unknown as { session: string | null; synced: boolean; fanout: { size: number } };
    return { session: o.session, synced: o.synced, viewers: o.fanout.size };
  });
}

/** Streams the dashboard object holds itself (not on relays). */
export async function directViewers(dashboard: string): Promise<number> {
  return runInDurableObject(stub(dashboard), (obj: DashboardObject) => (obj as unknown as { fanout: { size: number } }).fanout.size);
}

/**
 * From now on the dashboard's pushes to its relays are lost while `lose()` says so (the
 * dashboard believes they arrived). Only the relays subscribed at the time are affected.
 */
export async function losePushes(dashboard: string, lose: (batch: DeliverBatch, relay: string) => boolean): Promise<void> {
  await runInDurableObject(stub(dashboard), (obj: DashboardObject) => {
    const relays = (obj as unknown as { hub: { relays: Map<string, { stub: { deliver(b: DeliverBatch): Promise<boolean> } }> } }).hub
      .relays;
    for (const [name, link] of relays) {
      const real = link.stub;
      link.stub = {
        deliver: (batch: DeliverBatch) => (lose(batch, name) ? Promise.resolve(true) : real.deliver(batch)),
      } as typeof real;
    }
  });
}

/** A stream opened on relay `i` itself, as the Worker would open it there. */
export async function openOnRelay(
  dashboard: string,
  i: number,
  query = "history=0",
  headers: Record<string, string> = {},
): Promise<OpenStream> {
  const historySeconds = Number(new URLSearchParams(query).get("history") ?? 60);
  const open = { filter: null, historySeconds, resumeId: headers["Last-Event-ID"] ?? null, relay: `${dashboard}:${i}` };
  return streamOf(await relay(dashboard, i).openStream(open), `relay ${dashboard}:${i}`);
}

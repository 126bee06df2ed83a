// Test helpers that read real SSE bytes from the Worker running in workerd.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { MetricSample } from "../../contract/index.ts";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import type { RelayObject } from "../../durable-objects/relay/relay.ts";

export interface OpenStream {
  response: Response;
  /** Every byte received so far, decoded. */
  raw: () => string;
  events: EventSourceMessage[];
  /** Waits until at least `count` events (excluding `skip`ped names) have arrived. */
  waitFor: (count: number, timeoutMs?: number) => Promise<EventSourceMessage[]>;
  waitForRaw: (predicate: (raw: string) => boolean, timeoutMs?: number) => Promise<string>;
  /** Resolves when the server ends the stream (done or error). */
  ended: Promise<"done" | "error">;
  close: () => Promise<void>;
}

export async function openStream(path: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  return streamOf(await SELF.fetch(`https://dash.test${path}`, { headers }), path);
}

/** Reads an SSE response (from the Worker, or from an object directly). */
export async function streamOf(response: Response, what = response.url): Promise<OpenStream> {
  if (!response.ok || !response.body) throw new Error(`stream ${what}: ${response.status} ${await response.text()}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let raw = "";
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e) });
  let wake: () => void = () => {};
  let changed = new Promise<void>((r) => (wake = r));
  const ended = (async (): Promise<"done" | "error"> => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return "done";
        const text = decoder.decode(value, { stream: true });
        raw += text;
        parser.feed(text);
        wake();
        changed = new Promise<void>((r) => (wake = r));
      }
    } catch {
      return "error";
    } finally {
      wake();
    }
  })();

  async function until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = check();
      if (result !== undefined) return result;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received:\n${raw.slice(-2000)}`);
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), left));
      const outcome = await Promise.race([changed, ended, timer]);
      if (outcome === "done" || outcome === "error") {
        const last = check();
        if (last !== undefined) return last;
        throw new Error(`stream ended (${outcome}) while waiting for ${what}; received:\n${raw.slice(-2000)}`);
      }
    }
  }

  return {
    response,
    raw: () => raw,
    events,
    waitFor: (count, timeoutMs = 5000) =>
      until(() => (events.length >= count ? events.slice(0, count) : undefined), timeoutMs, `${count} events`),
    waitForRaw: (predicate, timeoutMs = 5000) => until(() => (predicate(raw) ? raw : undefined), timeoutMs, "bytes"),
    ended,
    close: async () => {
      await reader.cancel().catch(() => {});
    },
  };
}

export function stub(dashboard: string) {
  return env.DASHBOARD.getByName(dashboard);
}

/**
 * Restarts the object under `target` (ctx.abort(): its in-memory state is gone, the next request
 * gets a new instance, streams it held are cut). evictDurableObject() cannot be used here: it
 * waits for every stub to the object to go away, and relay and dashboard hold stubs to each other.
 */
export async function restart(target: DurableObjectStub<DashboardObject> | DurableObjectStub<RelayObject>): Promise<void> {
  await runInDurableObject(target as DurableObjectStub, (_obj, state) => state.abort("restarted by the test")).catch(() => {});
}

let clock = Date.parse("2026-11-21T10:00:00Z");

/** A valid sample; values default to calm ones that raise no alerts. */
export function sample(values: Partial<MetricSample> = {}): MetricSample {
  clock += 1000;
  return {
    cpu: 40.5,
    memory: 60.2,
    rps: 1200,
    activeConnections: 130,
    errorRate: 0.42,
    timestamp: new Date(clock).toISOString(),
    ...values,
  };
}

/** Publishes through the dashboard object's own publish path; returns the assigned ids. */
export async function publish(dashboard: string, ...samples: MetricSample[]): Promise<string[]> {
  const { ids } = await stub(dashboard).publish({ samples: samples.length ? samples : [sample()] });
  return ids;
}

export async function publishMany(dashboard: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(...(await publish(dashboard, sample({ rps: 1000 + i }))));
  return ids;
}

/**
 * Resolves once everything `dashboard` has accepted is committed (in the log, sent to viewers).
 * With a remote log, publish answers before that: a stream opened in between gets those events live.
 */
export async function committed(dashboard: string): Promise<void> {
  await runInDurableObject(stub(dashboard), (obj) => (obj as unknown as { chain: Promise<void> }).chain);
}

export async function getJson<T = unknown>(path: string): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await SELF.fetch(`https://dash.test${path}`);
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function SELF_fetch(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(`https://dash.test${path}`, { headers });
}

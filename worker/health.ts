// Reachability of the event log, for /api/health.
import type { EventLogHealth } from "../contract/index.ts";
import type { Config } from "../core/config/index.ts";
import { UpstashClient } from "../core/upstash.ts";

/** A health check must answer quickly even when Redis does not. */
const PING_TIMEOUT_MS = 1_500;
/** Health checks from load balancers and dashboards can be frequent: one PING per this long. */
const CACHE_MS = 2_000;

interface Cached {
  at: number;
  result: Promise<EventLogHealth>;
}

const pingers = new WeakMap<Config, { client: UpstashClient; cached?: Cached }>();

export async function eventLogHealth(config: Config): Promise<EventLogHealth> {
  if (!config.upstash) {
    // Kept in each dashboard object's own storage: available whenever the object is.
    return { backend: "durable-object-sqlite", status: "ok" };
  }
  let pinger = pingers.get(config);
  if (!pinger) {
    pinger = { client: new UpstashClient({ ...config.upstash, timeoutMs: PING_TIMEOUT_MS }) };
    pingers.set(config, pinger);
  }
  const now = Date.now();
  if (!pinger.cached || now - pinger.cached.at >= CACHE_MS) {
    const { client } = pinger;
    pinger.cached = {
      at: now,
      result: client.ping().then(
        (): EventLogHealth => ({ backend: "upstash-redis", status: "ok" }),
        (err: unknown): EventLogHealth => ({
          backend: "upstash-redis",
          status: "degraded",
          reason: err instanceof Error ? err.message : String(err),
        }),
      ),
    };
  }
  return pinger.cached.result;
}

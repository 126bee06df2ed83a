// Node-side helpers for the Upstash tests: redis reachability, free ports, key clean-up and
// the servers the workers-upstash project needs. Loaded natively by Node (see
// upstash.global.ts), not through Vite, because the Workers plugin's module resolution does not
// load ioredis.
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { Redis as IORedis } from "ioredis";
import { startUpstashBridge, type UpstashBridge } from "../../tools/upstash-bridge/server.ts";
import { freePort } from "../../tools/free-port.ts";

export const REDIS_URL = "redis://127.0.0.1:6379";

/** Connects to redis or fails with what to install and start. */
export async function connectRedis(url = REDIS_URL): Promise<IORedis> {
  const redis = new IORedis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    retryStrategy: () => null,
  });
  let connectError: Error | undefined;
  redis.on("error", (err: Error) => {
    connectError ??= err;
  });
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (err) {
    redis.disconnect();
    const reason = (connectError ?? (err as Error)).message;
    throw new Error(
      `redis-server is not reachable at ${url} (${reason}). The Upstash event-log tests run against a real ` +
        "redis: install redis-server (e.g. `sudo apt-get install redis-server`) and start it " +
        "(`redis-server --save '' --appendonly no --daemonize yes`), then re-run.",
      { cause: err },
    );
  }
}

/** Deletes every key under `prefix:` (SCAN, never KEYS). */
export async function deleteKeys(redis: IORedis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== "0");
  return deleted;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

export interface UpstashTestServers {
  provided: {
    upstashUrl: string;
    upstashToken: string;
    upstashKeyPrefix: string;
    upstashDeadRedisUrl: string;
    upstashBlackholeUrl: string;
    upstashClosedUrl: string;
  };
  close(): Promise<void>;
}

/** The bridge over 127.0.0.1:6379, a bridge over a dead redis, a black hole and a closed port. */
export async function startUpstashTestServers(): Promise<UpstashTestServers> {
  const admin = await connectRedis();
  const runId = randomBytes(6).toString("hex");
  const token = `test-token-${runId}`;
  const keyPrefix = `rtd-test:${runId}`;

  const bridge: UpstashBridge = await startUpstashBridge({ port: 0, token, redisUrl: REDIS_URL });
  const deadRedis: UpstashBridge = await startUpstashBridge({
    port: 0,
    token,
    redisUrl: `redis://127.0.0.1:${await freePort()}`,
  });
  const held = new Set<Socket>();
  const blackhole = createServer((socket) => {
    held.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => held.delete(socket));
  });
  const blackholePort = await listen(blackhole);

  const provided = {
    upstashUrl: bridge.url,
    upstashToken: token,
    upstashKeyPrefix: keyPrefix,
    upstashDeadRedisUrl: deadRedis.url,
    upstashBlackholeUrl: `http://127.0.0.1:${blackholePort}`,
    upstashClosedUrl: `http://127.0.0.1:${await freePort()}`,
  };

  const close = async () => {
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    await Promise.all([bridge.close(), deadRedis.close()]);
    try {
      await deleteKeys(admin, keyPrefix);
    } finally {
      admin.disconnect();
    }
  };
  return { provided, close };
}

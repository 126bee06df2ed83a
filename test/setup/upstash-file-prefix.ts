// workers-upstash setupFile (runs in workerd before each test file). Every test file gets its own
// Durable Object storage, but all of them share one redis: without this, two files' objects for
// the same dashboard (e.g. the cron test publishing to every dashboard while the resume tests
// run) would be two writers on one stream. A key prefix per file keeps Redis as isolated as the
// objects. The Worker reads the same env object, so it sees the narrowed prefix.
import { env } from "cloudflare:test";

const vars = env as unknown as Record<string, string | undefined>;
const base = ((globalThis as { __rtdBasePrefix?: string }).__rtdBasePrefix ??= vars.UPSTASH_KEY_PREFIX);
vars.UPSTASH_KEY_PREFIX = `${base}:f${crypto.randomUUID().slice(0, 8)}`;

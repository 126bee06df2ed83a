// Optional secrets, which `wrangler types` cannot know about (they live outside wrangler.toml).
// Everything else on Env is generated into worker-configuration.d.ts by `npm run types`.
interface Env {
  INGEST_TOKEN?: string;
  VIEWER_SECRET?: string;
  VIEWER_TOKEN?: string;
  /** Optional lifetime of viewer tickets in seconds (default 60); see worker/config.ts. */
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Optional first part of every Redis key (default "rtd"); see worker/config.ts. */
  UPSTASH_KEY_PREFIX?: string;
}

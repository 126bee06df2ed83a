// Optional secrets, which `wrangler types` cannot know about (they live outside wrangler.toml).
// Everything else on Env is generated into worker-configuration.d.ts by `npm run types`.
// core/config/ reads and checks them all.
interface Env {
  /** Bearer token of every dashboard's ingest routes; unset = only dashboards with their own ingestToken take ingest. */
  INGEST_TOKEN?: string;
  /** Signs viewer tickets; with VIEWER_TOKEN, turns viewer auth on. */
  VIEWER_SECRET?: string;
  /** What viewers present to get tickets for every dashboard (dashboards may have their own viewerToken). */
  VIEWER_TOKEN?: string;
  /** With ACCESS_AUD: Cloudflare Access, `https://<team>.cloudflareaccess.com` (a var or a secret). */
  ACCESS_TEAM_DOMAIN?: string;
  /** The Access application's audience tag. */
  ACCESS_AUD?: string;
  /** With _TOKEN: the events go to Upstash Redis Streams. */
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Optional first part of every Redis key (default "rtd"). */
  UPSTASH_KEY_PREFIX?: string;
}

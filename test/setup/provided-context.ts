// What the globalSetups provide (test/setup/upstash.global.ts, check-servers.global.ts, access-keys.global.ts,
// notify-receivers.global.ts); `inject()` in the tests and in vitest.config.ts is typed by this.
export {};

declare module "vitest" {
  export interface ProvidedContext {
    /** UPSTASH_REDIS_REST_URL of the bridge over 127.0.0.1:6379. */
    upstashUrl: string;
    upstashToken: string;
    /** UPSTASH_KEY_PREFIX for this run: keys never collide with other runs or with dev. */
    upstashKeyPrefix: string;
    /** A bridge whose redis-server is not running: answers 502 at once. */
    upstashDeadRedisUrl: string;
    /** Accepts connections and never answers: requests time out. */
    upstashBlackholeUrl: string;
    /** Nothing listens there: connections are refused. */
    upstashClosedUrl: string;
    /** The health-check test server (test/setup/check-servers.global.ts). */
    checkServerUrl: string;
    /** Nothing listens there: a check of it fails to connect. */
    checkRefusedUrl: string;
    /** The notification receivers (test/setup/notify-receivers.global.ts): control, log and hooks. */
    notifyReceiverUrl: string;
    /** The same hooks on a port whose listener the tests turn off (connections refused) and on. */
    notifySwitchableUrl: string;
    /** ACCESS_TEAM_DOMAIN of the workers-access project: serves /cdn-cgi/access/certs (test/setup/access-keys.global.ts). */
    accessTeamDomain: string;
  }
}

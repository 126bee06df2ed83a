// NOTIFY: where a dashboard's alerts are sent (docs/notifications.md), and PUBLIC_URL, the page
// the messages link to. Each channel is checked at startup and a bad one stops the Worker with a
// message naming it. URLs, routing keys and signing secrets are credentials: no message here
// repeats one, and `"$NAME"` reads it from a secret (secret-ref.ts) instead of wrangler.toml.
import { CHANNEL_TYPES, type ChannelType } from "../../contract/index.ts";
import { secretRef } from "./secret-ref.ts";
import { ConfigError, safeJson } from "./values.ts";

export interface NotifyChannel {
  name: string;
  type: ChannelType;
  /** Where messages are POSTed (pagerduty: the Events API v2 endpoint unless overridden). */
  url: string;
  /** webhook: the Standard Webhooks signing key, the bytes after `whsec_`, base64. */
  secret?: string;
  /** pagerduty: the integration's routing key. */
  routingKey?: string;
  /** The lowest metric level sent: "warning" (default) or "critical". */
  minLevel: "warning" | "critical";
  /** 0: no reminders; otherwise one every so many minutes while an alert stays critical or a check down. */
  repeatMinutes: number;
  /** Whether health-check down/up transitions are sent (default true). */
  checks: boolean;
  /** How long one attempt may take (default 10 s). */
  timeoutMs: number;
}

export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const KEYS = new Set(["name", "type", "url", "secret", "routingKey", "minLevel", "repeatMinutes", "checks", "timeoutMs"]);
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
/** Standard Webhooks: `whsec_` and 24–64 random bytes, base64. */
const SECRET_RE = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/** NOTIFY's channels by name (none when unset). */
export function parseNotify(raw: unknown, env: Env): Map<string, NotifyChannel> {
  const list = typeof raw === "string" ? (raw.trim() === "" ? [] : safeJson(raw)) : (raw ?? []);
  if (!Array.isArray(list)) throw new ConfigError("NOTIFY must be a list of { name, type, url?, … } (docs/notifications.md)");
  const channels = new Map<string, NotifyChannel>();
  list.forEach((item: unknown, i) => {
    const entry = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    const { name } = entry;
    if (typeof name !== "string" || !NAME_RE.test(name)) {
      throw new ConfigError(`NOTIFY[${i}]: name ${JSON.stringify(name)} must match ${NAME_RE.source}`);
    }
    if (channels.has(name)) throw new ConfigError(`NOTIFY: channel "${name}" is defined twice`);
    channels.set(name, parseChannel(entry, name, env));
  });
  return channels;
}

function parseChannel(entry: Record<string, unknown>, name: string, env: Env): NotifyChannel {
  const where = (key: string) => `NOTIFY: channel "${name}": ${key}`;
  for (const key of Object.keys(entry)) {
    if (!KEYS.has(key)) throw new ConfigError(`${where(`unknown key "${key}"`)} (known: ${[...KEYS].join(", ")})`);
  }
  const type = entry.type as ChannelType;
  if (!CHANNEL_TYPES.includes(type)) {
    throw new ConfigError(`${where("type")} ${JSON.stringify(entry.type)} is not one of ${CHANNEL_TYPES.join(", ")}`);
  }
  const channel: NotifyChannel = {
    name,
    type,
    url: PAGERDUTY_EVENTS_URL,
    minLevel: "warning",
    repeatMinutes: whole(entry.repeatMinutes, 0, 0, 1440, where("repeatMinutes")),
    checks: true,
    timeoutMs: whole(entry.timeoutMs, 10_000, 1000, 10_000, where("timeoutMs")),
  };
  if (entry.url !== undefined || type !== "pagerduty") channel.url = parseUrl(env, entry.url, where("url"));
  if (type === "webhook") {
    if (entry.secret === undefined) throw new ConfigError(`${where("secret")} is required for a webhook: "$NAME" of a secret whsec_…`);
    const value = secretRef(env, entry.secret, where("secret"));
    const key = SECRET_RE.exec(value)?.[1];
    const bytes = key ? base64Length(key) : 0;
    if (bytes < 24 || bytes > 64) {
      throw new ConfigError(`${where("secret")}: the secret must be whsec_ and 24–64 bytes in base64 (Standard Webhooks; not shown)`);
    }
    channel.secret = key;
  } else if (entry.secret !== undefined) throw new ConfigError(`${where("secret")} is for webhook channels only`);
  if (type === "pagerduty") {
    if (entry.routingKey === undefined) throw new ConfigError(`${where("routingKey")} is required: "$NAME" of the integration's key`);
    channel.routingKey = secretRef(env, entry.routingKey, where("routingKey"));
  } else if (entry.routingKey !== undefined) throw new ConfigError(`${where("routingKey")} is for pagerduty channels only`);
  if (entry.minLevel !== undefined) {
    if (entry.minLevel !== "warning" && entry.minLevel !== "critical")
      throw new ConfigError(`${where("minLevel")} must be "warning" or "critical"`);
    channel.minLevel = entry.minLevel;
  }
  if (entry.checks !== undefined) {
    if (typeof entry.checks !== "boolean") throw new ConfigError(`${where("checks")} must be true or false`);
    channel.checks = entry.checks;
  }
  return channel;
}

/** A literal https URL, or `"$NAME"` of a secret holding one; http only to this machine (tests, development). */
function parseUrl(env: Env, raw: unknown, where: string): string {
  if (raw === undefined) throw new ConfigError(`${where} is required`);
  const fromSecret = typeof raw === "string" && raw.startsWith("$");
  const value = fromSecret ? secretRef(env, raw, where) : raw;
  const shown = fromSecret ? `the secret ${raw.slice(1)}` : "the value";
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new ConfigError(`${where}: ${shown} is not a URL (not shown)`);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    throw new ConfigError(`${where}: ${shown} must be https:// (http:// only to localhost or 127.0.0.1)`);
  }
  return url.href;
}

function whole(raw: unknown, fallback: number, min: number, max: number, where: string): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== "number" || !Number.isInteger(raw) || raw < min || raw > max) {
    throw new ConfigError(`${where} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

function base64Length(b64: string): number {
  try {
    return atob(b64).length;
  } catch {
    return 0;
  }
}

/** Each dashboard's channels: its `notify` names, each one NOTIFY defines. */
export function dashboardChannels(
  rawDashboards: unknown,
  channels: ReadonlyMap<string, NotifyChannel>,
): Map<string, readonly NotifyChannel[]> {
  const list = typeof rawDashboards === "string" ? safeJson(rawDashboards) : rawDashboards;
  const byDashboard = new Map<string, readonly NotifyChannel[]>();
  for (const d of Array.isArray(list) ? list : []) {
    const { id, notify } = (d ?? {}) as { id?: string; notify?: unknown };
    if (notify === undefined || typeof id !== "string") continue;
    const where = `DASHBOARDS: dashboard "${id}": notify`;
    if (!Array.isArray(notify) || notify.some((n) => typeof n !== "string")) {
      throw new ConfigError(`${where} must be a list of channel names from NOTIFY`);
    }
    const names = notify as string[];
    const missing = names.find((n) => !channels.has(n));
    if (missing !== undefined) {
      const known = channels.size > 0 ? `defines ${[...channels.keys()].join(", ")}` : "defines none";
      throw new ConfigError(`${where} names "${missing}", which NOTIFY does not define (it ${known})`);
    }
    if (new Set(names).size !== names.length) throw new ConfigError(`${where} names a channel twice`);
    if (names.length > 0)
      byDashboard.set(
        id,
        names.map((n) => channels.get(n)!),
      );
  }
  return byDashboard;
}

/** PUBLIC_URL: where the page is served; messages link to `<PUBLIC_URL>?dashboard=<id>`. */
export function parsePublicUrl(raw: string | undefined): string | null {
  const value = raw?.trim();
  if (!value) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`PUBLIC_URL is not a URL like https://dash.example.com: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError(`PUBLIC_URL must be http(s), got ${url.protocol}`);
  if (url.search || url.hash) throw new ConfigError(`PUBLIC_URL must have no query or fragment: ${JSON.stringify(value)}`);
  return url.href.endsWith("/") ? url.href : `${url.href}/`;
}

/** The dashboard's page, for the messages' links. */
export const dashboardUrl = (publicUrl: string | null, id: string): string | undefined =>
  publicUrl ? `${publicUrl}?dashboard=${encodeURIComponent(id)}` : undefined;

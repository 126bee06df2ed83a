// The pieces of configuration every part is read with: numbers in a range, secrets, origins, the
// Upstash credentials and the viewer-auth pair. Each failure names the variable.

export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface UpstashConfig {
  url: string;
  token: string;
  /** UPSTASH_KEY_PREFIX (default "rtd"): keys are `<prefix>:{<dashboard>}:events`. Lets
   *  several deployments or test runs share one database without seeing each other. */
  keyPrefix: string;
}

/** VIEWER_SECRET (+ VIEWER_TOKEN) secrets: when set, streams of non-public dashboards need a ticket. */
export interface ViewerConfig {
  secret: string;
  /** VIEWER_TOKEN: gets tickets for every dashboard; optional when dashboards have their own viewerToken. */
  token: string | undefined;
}

export function positiveNumber(env: Env, name: keyof Env & string, fallback: number): number {
  const raw = (env as unknown as Record<string, unknown>)[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function wholeNumber(env: Env, name: keyof Env & string, fallback: number, min: number, max: number): number {
  const raw = (env as unknown as Record<string, unknown>)[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function parseUpstash(env: Env): UpstashConfig | null {
  const url = env.UPSTASH_REDIS_REST_URL?.trim();
  const token = env.UPSTASH_REDIS_REST_TOKEN?.trim();
  if (!url && !token) return null;
  if (!url || !token) {
    throw new ConfigError(`Set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (only ${url ? "the URL" : "the token"} is set)`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`UPSTASH_REDIS_REST_URL is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ConfigError(`UPSTASH_REDIS_REST_URL must be http(s), got ${parsed.protocol}`);
  }
  return { url, token, keyPrefix: parseKeyPrefix(env) };
}

// Letters, digits and `:_.-`: no glob characters (the prefix is used in SCAN MATCH), no
// braces (they would change the Redis Cluster hash tag), no spaces.
const KEY_PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9:_.-]{0,99}$/;

function parseKeyPrefix(env: Env): string {
  const raw = env.UPSTASH_KEY_PREFIX?.trim();
  if (!raw) return "rtd";
  if (!KEY_PREFIX_RE.test(raw) || raw.endsWith(":")) {
    throw new ConfigError(`UPSTASH_KEY_PREFIX must be 1-100 letters, digits or ":_.-" (not ending in ":"), got ${JSON.stringify(raw)}`);
  }
  return raw;
}

const DEV_ORIGINS = ["http://localhost:5173", "http://127.0.0.1:5173", "http://localhost:8787", "http://127.0.0.1:8787"];

export function parseOrigins(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === "") return DEV_ORIGINS;
  return raw.split(",").map((o) => {
    const origin = o.trim();
    if (origin === "*") throw new ConfigError("ALLOWED_ORIGINS may not be *: list the origins that may read the API");
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError(`ALLOWED_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://dash.example.com`);
    }
    if (url.origin !== origin) throw new ConfigError(`ALLOWED_ORIGINS: write ${JSON.stringify(origin)} as ${url.origin}`);
    return origin;
  });
}

/** Secrets shorter than 16 characters are refused: they could be guessed. */
export function secret(raw: string | undefined, name: string): string | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  if (value.length < 16) throw new ConfigError(`${name} must be at least 16 characters long`);
  return value;
}

/** `dashboardTokens`: some dashboard names its own viewerToken, so VIEWER_TOKEN may be left out. */
export function parseViewer(env: Env, dashboardTokens: boolean): ViewerConfig | null {
  const key = secret(env.VIEWER_SECRET, "VIEWER_SECRET");
  const token = secret(env.VIEWER_TOKEN, "VIEWER_TOKEN");
  if (!key && !token) return null;
  if (!key) throw new ConfigError("Set VIEWER_SECRET too: it signs the tickets VIEWER_TOKEN is traded for");
  if (!token && !dashboardTokens) {
    throw new ConfigError("Set VIEWER_TOKEN (what viewers present) with VIEWER_SECRET, or give dashboards their own viewerToken");
  }
  return { secret: key, token };
}

/** The definition of dashboard `id`; an object whose name is not configured gets the seed's five. */

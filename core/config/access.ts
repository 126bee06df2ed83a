// Who may write and watch what: Cloudflare Access (ACCESS_TEAM_DOMAIN + ACCESS_AUD), and each
// dashboard's own keys in DASHBOARDS: `ingestToken` and `viewerToken` ("$NAME" secrets, valid
// for that dashboard only), `public` (anyone may watch it) and `viewers` (the Access identities
// that may). The combinations that cannot work stop the Worker at startup, naming the dashboard.
import { secretRef } from "./secret-ref.ts";
import { ConfigError, type ViewerConfig } from "./values.ts";

/** ACCESS_TEAM_DOMAIN + ACCESS_AUD: a valid `Cf-Access-Jwt-Assertion` lets its bearer watch. */
export interface AccessConfig {
  /** `https://<team>.cloudflareaccess.com`: the JWT's issuer; its keys are at `<teamDomain>/cdn-cgi/access/certs`. */
  teamDomain: string;
  /** The Access application's audience tag: the JWT's `aud` must contain it. */
  audience: string;
}

/** A dashboard's own credentials and who may watch it. */
export interface DashboardAccess {
  /** Writes this dashboard only (the global INGEST_TOKEN writes every one). */
  ingestToken?: string;
  /** Gets tickets for and reads this dashboard only (the global VIEWER_TOKEN reads every one). */
  viewerToken?: string;
  /** Anyone may watch it, also when viewer auth is on. */
  public: boolean;
  /** Access identities that may watch it: lowercase emails and `*@domain`; undefined = any. */
  viewers?: string[];
}

/** The keys of a DASHBOARDS entry read here (dashboards.ts refuses keys it does not know). */
export const ACCESS_KEYS = ["ingestToken", "viewerToken", "public", "viewers"] as const;

/** Tokens as short as this could be guessed. */
export const MIN_TOKEN_LENGTH = 16;

const VIEWER_RE = /^(?:[^@\s*]+|\*)@[^@\s*]+\.[^@\s*]+$/;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

export function parseAccess(env: Env): AccessConfig | null {
  const domain = env.ACCESS_TEAM_DOMAIN?.trim();
  const audience = env.ACCESS_AUD?.trim();
  if (!domain && !audience) return null;
  if (!domain || !audience) {
    throw new ConfigError(`Set both ACCESS_TEAM_DOMAIN and ACCESS_AUD (only ${domain ? "ACCESS_TEAM_DOMAIN" : "ACCESS_AUD"} is set)`);
  }
  let url: URL;
  try {
    url = new URL(domain);
  } catch {
    throw new ConfigError(`ACCESS_TEAM_DOMAIN is not a URL like https://<team>.cloudflareaccess.com: ${JSON.stringify(domain)}`);
  }
  // http only for a local key server (tests, development): the keys decide who gets in.
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    throw new ConfigError(`ACCESS_TEAM_DOMAIN must be https://<team>.cloudflareaccess.com, got ${JSON.stringify(domain)}`);
  }
  if (domain.replace(/\/$/, "") !== url.origin)
    throw new ConfigError(`ACCESS_TEAM_DOMAIN: write ${JSON.stringify(domain)} as ${url.origin}`);
  return { teamDomain: url.origin, audience };
}

/** The access keys of one DASHBOARDS entry. */
export function parseDashboardAccess(env: Env, entry: Record<string, unknown>, id: string): DashboardAccess {
  const where = (key: string) => `DASHBOARDS: dashboard "${id}": ${key}`;
  const access: DashboardAccess = { public: false };
  if (entry.ingestToken !== undefined) access.ingestToken = secretRef(env, entry.ingestToken, where("ingestToken"), MIN_TOKEN_LENGTH);
  if (entry.viewerToken !== undefined) access.viewerToken = secretRef(env, entry.viewerToken, where("viewerToken"), MIN_TOKEN_LENGTH);
  if (entry.public !== undefined) {
    if (typeof entry.public !== "boolean") throw new ConfigError(`${where("public")} must be true or false`);
    access.public = entry.public;
  }
  if (entry.viewers !== undefined) {
    const list = entry.viewers;
    if (!Array.isArray(list) || list.length === 0 || list.length > 1000) {
      throw new ConfigError(`${where("viewers")} must be a list of 1–1000 emails or "*@domain"`);
    }
    access.viewers = list.map((v: unknown) => {
      if (typeof v !== "string" || v.length > 254 || !VIEWER_RE.test(v.trim())) {
        throw new ConfigError(`${where("viewers")}: ${JSON.stringify(v)} is not an email or "*@domain"`);
      }
      return v.trim().toLowerCase();
    });
    if (access.public) throw new ConfigError(`${where("public")}: a public dashboard cannot also name its viewers; drop one of them`);
  }
  return access;
}

/**
 * The combinations that would leave a key without effect or a dashboard nobody can open.
 * `viewer`: VIEWER_SECRET (+ VIEWER_TOKEN); `access`: Cloudflare Access.
 */
export function checkAccess(
  dashboards: ReadonlyMap<string, DashboardAccess>,
  viewer: ViewerConfig | null,
  access: AccessConfig | null,
): void {
  const viewerAuth = viewer !== null || access !== null;
  for (const [id, d] of dashboards) {
    const where = `DASHBOARDS: dashboard "${id}"`;
    if (d.viewerToken && !viewer) throw new ConfigError(`${where}: viewerToken needs the VIEWER_SECRET secret, which signs its tickets`);
    if (d.viewers && !access) throw new ConfigError(`${where}: viewers needs Cloudflare Access: set ACCESS_TEAM_DOMAIN and ACCESS_AUD`);
    if (viewerAuth && !d.public && !access && !viewer?.token && !d.viewerToken) {
      throw new ConfigError(
        `${where}: nobody could watch it: give it a viewerToken, set VIEWER_TOKEN, make it public, or set up Cloudflare Access`,
      );
    }
  }
}

/** Whether an Access identity with `email` is one of `viewers` (undefined: anyone signed in). */
export function isViewer(viewers: readonly string[] | undefined, email: string | undefined): boolean {
  if (!viewers) return true;
  if (!email) return false; // a service token has no email
  const address = email.toLowerCase();
  if (address.indexOf("@") !== address.lastIndexOf("@")) return false;
  const domain = address.slice(address.lastIndexOf("@"));
  return viewers.some((v) => v === address || (v.startsWith("*@") && v.slice(1) === domain));
}

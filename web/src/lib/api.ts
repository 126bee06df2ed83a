// The JSON side of the API. Always relative URLs: in production the Pages Function forwards
// /api/* to the Worker, in development Vite's proxy does, so the page is always same-origin.
import type {
  CheckState,
  ClientConfig,
  Dashboard,
  DashboardDef,
  NotificationsAnswer,
  SeriesAnswer,
  Ticket,
} from "../../../contract/index.ts";

export const API_BASE = "/api";

export function eventsUrl(dashboard: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, value);
  const qs = query.toString();
  return `${API_BASE}/dashboards/${encodeURIComponent(dashboard)}/events${qs ? `?${qs}` : ""}`;
}

type Shape<T> = [what: string, ok: (body: T) => boolean];
interface GetOptions {
  /** The viewer token's header, for the routes that want one. */
  authorization?: string;
  /** Default: a 5 s timeout. */
  signal?: AbortSignal;
  /** Default "no-store"; "default" lets the HTTP cache answer (the Worker's ETags). */
  cache?: RequestCache;
  /** A 404 is null rather than an error. */
  nullOn404?: boolean;
}

/** Every JSON read: `GET /api<path>`; the answer must pass `shape` (or it throws "not <what>"). */
async function getJson<T>(path: string, shape?: Shape<T>, o: GetOptions = {}): Promise<T> {
  const url = API_BASE + path;
  const response = await fetch(url, {
    cache: o.cache ?? "no-store",
    headers: o.authorization ? { Authorization: o.authorization } : {},
    signal: o.signal ?? AbortSignal.timeout(5000),
  });
  if (o.nullOn404 && response.status === 404) return null as T;
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  const body = (await response.json()) as T;
  if (shape && !shape[1](body)) throw new Error(`GET ${url}: not ${shape[0]}`);
  return body;
}

const LIST: Shape<unknown> = ["a list", Array.isArray];
const dashboardPath = (dashboard: string) => `/dashboards/${encodeURIComponent(dashboard)}`;

export const fetchDashboards = () => getJson<Dashboard[]>("/dashboards", LIST);

/**
 * `GET /api/dashboards/:id`: the dashboard's metric definitions, which the whole view is built
 * from. Null when there is no such dashboard (404); throws when it cannot be had.
 */
export const fetchDashboardDef = (dashboard: string) =>
  getJson<DashboardDef | null>(
    dashboardPath(dashboard),
    ["a dashboard definition", (def) => def?.id === dashboard && Array.isArray(def.metrics)],
    { nullOn404: true },
  );

/** `GET /api/dashboards/:id/checks`: each health check's last state (viewer token when viewer auth is on). */
export const fetchChecks = (dashboard: string, authorization?: string) =>
  getJson<CheckState[]>(`${dashboardPath(dashboard)}/checks`, LIST, { authorization });

/** `GET /api/dashboards/:id/notifications`: each channel's deliveries and the recent alerts' fate (viewer token when viewer auth is on). */
export const fetchNotifications = (dashboard: string, authorization?: string) =>
  getJson<NotificationsAnswer>(`${dashboardPath(dashboard)}/notifications`, ["notifications", (a) => Array.isArray(a?.channels)], {
    authorization,
  });

/**
 * `GET /api/dashboards/:id/series`: min/max/avg/last per bucket (`auto` step by default), 10 s
 * unless `signal` says otherwise. Not `no-store`: the Worker sets Cache-Control and an ETag, so a
 * settled range comes from the cache.
 */
export function fetchSeries(
  dashboard: string,
  query: { from: number; to?: number; step?: string; metrics: string[] },
  authorization?: string,
  signal = AbortSignal.timeout(10_000),
): Promise<SeriesAnswer> {
  const q = new URLSearchParams({ from: String(Math.floor(query.from)) });
  if (query.to !== undefined) q.set("to", String(Math.ceil(query.to)));
  if (query.step) q.set("step", query.step);
  if (query.metrics.length > 0) q.set("metrics", query.metrics.join(","));
  return getJson<SeriesAnswer>(
    `${dashboardPath(dashboard)}/series?${q.toString().replaceAll("%2C", ",")}`,
    ["a series answer", (a) => Array.isArray(a?.t) && typeof a.series === "object"],
    { authorization, signal, cache: "default" },
  );
}

/** `GET /api/config`: whether streams need a ticket. */
export const fetchClientConfig = () => getJson<ClientConfig>("/config");

/**
 * `POST /api/tickets` for one dashboard, with the viewer token in the Authorization header
 * (never in a URL). Null when the token was refused (401, or 403: another dashboard's token);
 * throws for anything else.
 */
export async function requestTicket(dashboard: string, token: string, timeoutMs = 5000): Promise<Ticket | null> {
  const response = await fetch(`${API_BASE}/tickets`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ dashboard }),
    cache: "no-store",
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.status === 401 || response.status === 403) return null;
  if (!response.ok) throw new Error(`POST /api/tickets: ${response.status}`);
  return (await response.json()) as Ticket;
}

export type Diagnosis = { kind: "ok"; dashboards: Dashboard[] } | { kind: "not-found"; dashboards: Dashboard[] } | { kind: "unreachable" };

/**
 * Why did a stream fail? An EventSource never says (no status, no body), so ask the list:
 * unreachable when it cannot be fetched, not found when the dashboard is not in it.
 */
export async function diagnose(dashboard: string): Promise<Diagnosis> {
  try {
    const dashboards = await fetchDashboards();
    return { kind: dashboards.some((d) => d.id === dashboard) ? "ok" : "not-found", dashboards };
  } catch {
    return { kind: "unreachable" };
  }
}

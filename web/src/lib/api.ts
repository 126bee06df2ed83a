// The JSON side of the API. Always relative URLs: in production the Pages Function forwards
// /api/* to the Worker, in development Vite's proxy does, so the page is always same-origin.
import type { CheckState, ClientConfig, Dashboard, DashboardDef, SeriesAnswer, Ticket } from "../../../contract/index.ts";

export const API_BASE = "/api";

export function eventsUrl(dashboard: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, value);
  const qs = query.toString();
  return `${API_BASE}/dashboards/${encodeURIComponent(dashboard)}/events${qs ? `?${qs}` : ""}`;
}

async function getJson(path: string, timeoutMs: number): Promise<unknown> {
  const response = await fetch(API_BASE + path, { cache: "no-store", signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${API_BASE}${path}: ${response.status}`);
  return response.json();
}

export async function fetchDashboards(timeoutMs = 5000): Promise<Dashboard[]> {
  const list = await getJson("/dashboards", timeoutMs);
  if (!Array.isArray(list)) throw new Error("GET /api/dashboards: not a list");
  return list as Dashboard[];
}

/**
 * `GET /api/dashboards/:id`: the dashboard's metric definitions, which the whole view is built
 * from. Null when there is no such dashboard (404); throws when it cannot be had.
 */
export async function fetchDashboardDef(dashboard: string, timeoutMs = 5000): Promise<DashboardDef | null> {
  const path = `/dashboards/${encodeURIComponent(dashboard)}`;
  const response = await fetch(API_BASE + path, { cache: "no-store", signal: AbortSignal.timeout(timeoutMs) });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`GET ${API_BASE}${path}: ${response.status}`);
  const def = (await response.json()) as DashboardDef;
  if (def?.id !== dashboard || !Array.isArray(def.metrics)) throw new Error(`GET ${API_BASE}${path}: not a dashboard definition`);
  return def;
}

/** `GET /api/dashboards/:id/checks`: each health check's last state (viewer token when viewer auth is on). */
export async function fetchChecks(dashboard: string, authorization?: string, timeoutMs = 5000): Promise<CheckState[]> {
  const path = `${API_BASE}/dashboards/${encodeURIComponent(dashboard)}/checks`;
  const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
  const response = await fetch(path, { cache: "no-store", headers, signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
  const list = (await response.json()) as CheckState[];
  if (!Array.isArray(list)) throw new Error(`GET ${path}: not a list`);
  return list;
}

/**
 * `GET /api/dashboards/:id/series`: min/max/avg/last per bucket (`auto` step by default). Not
 * `no-store`: the Worker sets Cache-Control and an ETag, so a settled range comes from the cache.
 */
export async function fetchSeries(
  dashboard: string,
  query: { from: number; to?: number; step?: string; metrics: string[] },
  authorization?: string,
  signal?: AbortSignal,
): Promise<SeriesAnswer> {
  const q = new URLSearchParams({ from: String(Math.floor(query.from)) });
  if (query.to !== undefined) q.set("to", String(Math.ceil(query.to)));
  if (query.step) q.set("step", query.step);
  if (query.metrics.length > 0) q.set("metrics", query.metrics.join(","));
  const path = `${API_BASE}/dashboards/${encodeURIComponent(dashboard)}/series?${q.toString().replaceAll("%2C", ",")}`;
  const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
  const response = await fetch(path, { headers, signal: signal ?? AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
  const answer = (await response.json()) as SeriesAnswer;
  if (!Array.isArray(answer?.t) || typeof answer.series !== "object") throw new Error(`GET ${path}: not a series answer`);
  return answer;
}

/** `GET /api/config`: whether streams need a ticket. */
export const fetchClientConfig = (timeoutMs = 5000) => getJson("/config", timeoutMs) as Promise<ClientConfig>;

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

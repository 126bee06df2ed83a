// DASHBOARDS: the dashboards that exist, what each measures (contract/metrics.ts checks the
// metric definitions), which health checks it runs (core/checks.ts), and who may write and
// watch it (access.ts). Its `notify` (the channels its alerts go to) is read by notify.ts.
import { DASHBOARD_ID_RE, DEFAULT_METRICS, defineMetrics, type DashboardDef } from "../../contract/index.ts";
import { defineChecks } from "../checks.ts";
import { ACCESS_KEYS, parseDashboardAccess, type DashboardAccess } from "./access.ts";
import { ConfigError, safeJson } from "./values.ts";

const DASHBOARD_KEYS = new Set(["id", "name", "simulate", "metrics", "checks", ...ACCESS_KEYS, "notify"]);

/** The definitions (what the page may read) and, apart, each dashboard's credentials and viewers. */
export function parseDashboards(raw: unknown, env: Env): { dashboards: DashboardDef[]; access: Map<string, DashboardAccess> } {
  const list = typeof raw === "string" ? safeJson(raw) : raw;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError("DASHBOARDS must be a non-empty list of { id, name, simulate?, metrics? }");
  }
  const seen = new Set<string>();
  const access = new Map<string, DashboardAccess>();
  const dashboards = list.map((d: unknown): DashboardDef => {
    const entry = (typeof d === "object" && d !== null ? d : {}) as Record<string, unknown>;
    const { id, name, simulate, metrics, checks } = entry;
    if (typeof id !== "string" || !DASHBOARD_ID_RE.test(id)) {
      throw new ConfigError(`DASHBOARDS: id ${JSON.stringify(id)} must match ${DASHBOARD_ID_RE}`);
    }
    if (seen.has(id)) throw new ConfigError(`DASHBOARDS: id "${id}" is listed twice`);
    seen.add(id);
    for (const key of Object.keys(entry)) {
      if (!DASHBOARD_KEYS.has(key))
        throw new ConfigError(`DASHBOARDS: dashboard "${id}": unknown key "${key}" (known: ${[...DASHBOARD_KEYS].join(", ")})`);
    }
    if (simulate !== undefined && typeof simulate !== "boolean") {
      throw new ConfigError(`DASHBOARDS: dashboard "${id}": simulate must be true or false`);
    }
    let defs: DashboardDef["metrics"];
    let checkDefs: DashboardDef["checks"];
    try {
      defs = metrics === undefined ? DEFAULT_METRICS.map((m) => ({ ...m })) : defineMetrics(id, metrics);
      checkDefs = defineChecks(id, checks);
    } catch (err) {
      throw err instanceof Error ? new ConfigError(err.message) : err;
    }
    access.set(id, parseDashboardAccess(env, entry, id));
    return {
      id,
      name: typeof name === "string" && name ? name : id,
      simulate: simulate ?? true,
      seed: metrics === undefined,
      metrics: defs,
      checks: checkDefs,
    };
  });
  return { dashboards, access };
}

export function dashboardDef(config: { dashboards: readonly DashboardDef[] }, id: string | undefined): DashboardDef {
  return (
    config.dashboards.find((d) => d.id === id) ?? {
      id: id ?? "",
      name: id ?? "",
      simulate: false,
      seed: true,
      metrics: DEFAULT_METRICS.map((m) => ({ ...m })),
      checks: [],
    }
  );
}

// The dashboards and what the page reads about each (mounted at /api/dashboards; findDashboard
// has checked :id and put its definition on the context).
import { Hono } from "hono";
import type { CheckState, Dashboard, DashboardDef } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import type { AppEnv } from "../env.ts";
import { checkViewer, viewerOnly } from "../middleware/viewer.ts";
import { dashboardStub } from "../stubs.ts";

export const dashboards = new Hono<AppEnv>()
  .get("/", (c) => c.json<Dashboard[]>(readConfig(c.env).dashboards.map(({ id, name }) => ({ id, name }))))
  /**
   * The dashboard with its metric definitions: what the client builds its layout from. The
   * health checks' URLs (internal addresses, often) only for those who may watch it.
   */
  .get("/:id", async (c) => {
    const def = c.var.dashboard;
    if (def.checks.length === 0 || !((await checkViewer(c)) instanceof Response)) return c.json<DashboardDef>(def);
    return c.json<DashboardDef>({ ...def, checks: def.checks.map(({ url: _url, ...check }) => check as DashboardDef["checks"][number]) });
  })
  .get("/:id/stats", viewerOnly, async (c) => c.json(await dashboardStub(c.env, c.var.dashboard.id).stats()))
  /** The dashboard's health checks and each one's last state (null before its first run). */
  .get("/:id/checks", viewerOnly, async (c) => c.json<CheckState[]>(await dashboardStub(c.env, c.var.dashboard.id).checks()));

// Every /api/dashboards/:id route: a malformed id is a 400, an unknown one a 404; otherwise the
// dashboard's definition is on the context (`c.var.dashboard`).
import { createMiddleware } from "hono/factory";
import { DASHBOARD_ID_RE } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import type { AppEnv } from "../env.ts";
import { jsonError } from "../errors.ts";

export const findDashboard = createMiddleware<AppEnv>(async (c, next) => {
  const id = c.req.param("id") ?? "";
  if (!DASHBOARD_ID_RE.test(id)) {
    return jsonError(c, 400, "invalid_dashboard_id", `Dashboard ids match ${DASHBOARD_ID_RE.source}`);
  }
  const dashboard = readConfig(c.env).dashboards.find((d) => d.id === id);
  if (!dashboard) return jsonError(c, 404, "dashboard_not_found", `No dashboard "${id}"; GET /api/dashboards lists them`);
  c.set("dashboard", dashboard);
  await next();
});

// The one Env every part of the Hono app is typed with: the Worker's bindings (generated into
// worker-configuration.d.ts by `npm run types`) and what middleware puts on the context.
import type { DashboardDef } from "../contract/index.ts";

export type AppEnv = {
  Bindings: Env;
  Variables: {
    /** Set by findDashboard on every /api/dashboards/:id route. */
    dashboard: DashboardDef;
  };
};

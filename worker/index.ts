// The Worker: the Hono API, the cron publisher and health checks, and the Durable Object
// classes it binds.
import { env } from "cloudflare:workers";
import { app } from "./app.ts";
import { readConfig } from "../core/config/index.ts";
import { runChecks } from "./cron/checks.ts";
import { runPublisher } from "./cron/publisher.ts";
import { dashboardStub } from "./stubs.ts";

export { DashboardObject } from "../durable-objects/dashboard/dashboard.ts";
export { RelayObject } from "../durable-objects/relay/relay.ts";

// Misconfiguration fails here, when the Worker starts, instead of at the first request.
readConfig(env);

export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    const config = readConfig(env);
    const end = controller.scheduledTime + config.publishWindowSeconds * 1000;
    await Promise.all([
      runPublisher(env, controller.scheduledTime),
      runChecks(config.dashboards, end, async (dashboard, check, run) => {
        await dashboardStub(env, dashboard).recordCheck({ name: check.name, run });
      }),
    ]);
  },
} satisfies ExportedHandler<Env>;

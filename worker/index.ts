// The Worker: the Hono API, the cron publisher, and the Durable Object classes it binds.
import { env } from "cloudflare:workers";
import { app } from "./app.ts";
import { readConfig } from "./config.ts";
import { runPublisher } from "./publisher.ts";

export { DashboardObject } from "../durable-objects/dashboard.ts";
export { RelayObject } from "../durable-objects/relay.ts";

// Misconfiguration fails here, when the Worker starts, instead of at the first request.
readConfig(env);

export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    await runPublisher(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Env>;

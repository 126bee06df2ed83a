// What the service says about itself (mounted at /api): its health, and what a client must know
// before it connects.
import { Hono } from "hono";
import type { ClientConfig, Health } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import type { AppEnv } from "../env.ts";
import { eventLogHealth } from "../health.ts";

export const service = new Hono<AppEnv>()
  .get("/health", async (c) => {
    const eventLog = await eventLogHealth(readConfig(c.env));
    return c.json<Health>({ status: eventLog.status, eventLog }, eventLog.status === "ok" ? 200 : 503);
  })
  .get("/config", (c) => {
    const config = readConfig(c.env);
    const answer: ClientConfig = { viewerAuth: config.viewerAuth, ticketTtlSeconds: config.ticketTtlSeconds };
    if (config.viewerAuth !== "none") {
      const open = [...config.dashboardAccess].filter(([, d]) => d.public).map(([id]) => id);
      if (open.length > 0) answer.public = open;
    }
    return c.json<ClientConfig>(answer);
  });

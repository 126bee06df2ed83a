// A dashboard's notification channels (mounted at /api/dashboards/:id/notifications): how their
// deliveries go, for those who may watch it, and a test message, for those who may write it.
// Neither answer ever holds a channel's URL, key or secret (docs/notifications.md).
import { Hono } from "hono";
import type { NotificationsAnswer, NotificationTestAnswer } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import type { AppEnv } from "../env.ts";
import { jsonError, retryAfterSeconds } from "../errors.ts";
import { ingestAuth } from "../middleware/auth.ts";
import { viewerOnly } from "../middleware/viewer.ts";
import { dashboardStub } from "../stubs.ts";

export const notifications = new Hono<AppEnv>()
  /** Per channel: type, delivered, pending, failed, dropped, the last attempt, success and error, and the recent alerts' state. */
  .get("/", viewerOnly, async (c) => c.json<NotificationsAnswer>(await dashboardStub(c.env, c.var.dashboard.id).notifications()))
  /** Sends a `test` message to each of the dashboard's channels and answers with each one's result. */
  .post("/test", ingestAuth, async (c) => {
    const id = c.var.dashboard.id;
    if (!readConfig(c.env).notify.has(id)) {
      return jsonError(
        c,
        404,
        "no_channels",
        `Dashboard "${id}" has no notification channels: list them in its notify (docs/notifications.md)`,
      );
    }
    const answer = await dashboardStub(c.env, id).testNotifications();
    if ("retryAfterMs" in answer) {
      const seconds = retryAfterSeconds(answer.retryAfterMs);
      return jsonError(c, 429, "rate_limited", `A test message went out moments ago; try again in ${seconds} s`, {
        "Retry-After": String(seconds),
      });
    }
    return c.json<NotificationTestAnswer>(answer);
  });

// GET /api/dashboards/:id/events: checks the query, the ticket and the filter, then hands the
// stream to the dashboard's object (or one of its relays), which holds it from then on.
import { zValidator } from "@hono/zod-validator";
import type { Hono } from "hono";
// zod/mini: the same schemas, tree-shaken to what is used (full zod was most of the bundle).
import * as z from "zod/mini";
import { DEFAULT_HISTORY_SECONDS } from "../../contract/index.ts";
import { parseStreamFilter } from "../../core/stream-filter.ts";
import { RELAY_NAME_HEADER } from "../../core/rpc.ts";
import type { AppEnv } from "../app.ts";
import { dashboardStub, relayStub } from "../stubs.ts";
import { checkTicket } from "../middleware/auth.ts";
import { readConfig } from "../../core/config/index.ts";
import { jsonError } from "../errors.ts";

const streamQuery = z.object({
  history: z.optional(z.pipe(z.string().check(z.regex(/^\d{1,9}$/, "history must be a whole number of seconds")), z.transform(Number))),
  // Checked against the dashboard's own metric names in the handler.
  metrics: z.optional(z.string().check(z.maxLength(2048))),
  logs: z.optional(z.string().check(z.maxLength(16))),
  lastEventId: z.optional(z.string()),
  ticket: z.optional(z.string()),
});

export function registerStreamRoute(app: Hono<AppEnv>): void {
  app.get(
    "/api/dashboards/:id/events",
    zValidator("query", streamQuery, (result, c) => {
      if (!result.success) {
        const issue = result.error.issues[0]!;
        return jsonError(c, 400, "invalid_query", `${issue.path.join(".")}: ${issue.message}`);
      }
    }),
    async (c) => {
      const config = readConfig(c.env);
      const query = c.req.valid("query");
      const { id, metrics } = c.get("dashboard");
      const filter = parseStreamFilter(
        query,
        metrics.map((m) => m.name),
      );
      if (filter && "error" in filter) return jsonError(c, 400, "invalid_query", filter.error);
      if (config.viewer) {
        if (!query.ticket)
          return jsonError(c, 401, "ticket_required", "This dashboard needs a ticket: POST /api/tickets, then add ?ticket=");
        const check = await checkTicket(config.viewer.secret, query.ticket, id);
        if (!check.ok) return jsonError(c, 401, check.error, check.message);
      }
      const history = Math.min(query.history ?? DEFAULT_HISTORY_SECONDS, config.retentionSeconds);
      const target = new URL("https://dashboard/stream");
      target.searchParams.set("history", String(history));
      if (query.metrics !== undefined) target.searchParams.set("metrics", query.metrics);
      if (query.logs !== undefined) target.searchParams.set("logs", query.logs);
      if (query.lastEventId !== undefined) target.searchParams.set("lastEventId", query.lastEventId);
      const headers = new Headers();
      const lastEventId = c.req.header("Last-Event-ID");
      if (lastEventId !== undefined) headers.set("Last-Event-ID", lastEventId);
      // The ticket stays here: it is never forwarded, stored or logged.
      const init = { headers, signal: c.req.raw.signal };
      if (config.relaysPerDashboard === 0) return dashboardStub(c.env, id).fetch(target, init);
      return openOnRelay(c.env, id, config.relaysPerDashboard, target, init);
    },
  );
}

/**
 * Places a viewer on one of the dashboard's K relays, chosen at random; a full relay (503) is
 * passed over for the next in a random order, and only when all K are full is the 503 returned.
 */
async function openOnRelay(env: Env, id: string, relays: number, target: URL, init: RequestInit): Promise<Response> {
  const order = Array.from({ length: relays }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let response: Response | undefined;
  for (const i of order) {
    await response?.body?.cancel();
    const headers = new Headers(init.headers);
    headers.set(RELAY_NAME_HEADER, `${id}:${i}`);
    response = await relayStub(env, id, i).fetch(target, { ...init, headers });
    if (response.status !== 503) return response;
  }
  return response!;
}

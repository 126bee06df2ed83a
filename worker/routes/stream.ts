// GET /api/dashboards/:id/events (mounted at that path): checks the query, the ticket and the
// filter, turns the request into one typed StreamOpen, and hands it to the dashboard's object
// (or one of its relays) over RPC. The object answers with the SSE response and holds the stream
// from then on; it never reads the URL.
import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
// zod/mini: the same schemas, tree-shaken to what is used (full zod was most of the bundle).
import * as z from "zod/mini";
import { DEFAULT_HISTORY_SECONDS } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import { relayName, type StreamOpen } from "../../core/rpc.ts";
import { parseStreamFilter } from "../../core/stream-filter.ts";
import type { AppEnv } from "../env.ts";
import { jsonError } from "../errors.ts";
import { dashboardStub, relayStub } from "../stubs.ts";
import { checkTicket } from "../tickets.ts";

const streamQuery = z.object({
  history: z.optional(z.pipe(z.string().check(z.regex(/^\d{1,9}$/, "history must be a whole number of seconds")), z.transform(Number))),
  // Checked against the dashboard's own metric names in the handler.
  metrics: z.optional(z.string().check(z.maxLength(2048))),
  logs: z.optional(z.string().check(z.maxLength(16))),
  lastEventId: z.optional(z.string()),
  ticket: z.optional(z.string()),
});

export const stream = new Hono<AppEnv>().get(
  "/",
  zValidator("query", streamQuery, (result, c) => {
    if (!result.success) {
      const issue = result.error.issues[0]!;
      return jsonError(c, 400, "invalid_query", `${issue.path.join(".")}: ${issue.message}`);
    }
  }),
  async (c) => {
    const config = readConfig(c.env);
    const query = c.req.valid("query");
    const { id, metrics } = c.var.dashboard;
    const filter = parseStreamFilter(
      query,
      metrics.map((m) => m.name),
    );
    if (filter && "error" in filter) return jsonError(c, 400, "invalid_query", filter.error);
    if (config.viewer) {
      if (!query.ticket) return jsonError(c, 401, "ticket_required", "This dashboard needs a ticket: POST /api/tickets, then add ?ticket=");
      const check = await checkTicket(config.viewer.secret, query.ticket, id);
      if (!check.ok) return jsonError(c, 401, check.error, check.message);
    }
    // The ticket stays here: it is never forwarded, stored or logged.
    const open: StreamOpen = {
      filter,
      historySeconds: Math.min(query.history ?? DEFAULT_HISTORY_SECONDS, config.retentionSeconds),
      resumeId: c.req.header("Last-Event-ID") ?? query.lastEventId ?? null,
    };
    if (config.relaysPerDashboard === 0) return dashboardStub(c.env, id).openStream(open);
    return openOnRelay(c.env, id, config.relaysPerDashboard, open);
  },
);

/**
 * Places a viewer on one of the dashboard's K relays, chosen at random; a full relay (503) is
 * passed over for the next in a random order, and only when all K are full is the 503 returned.
 */
async function openOnRelay(env: Env, id: string, relays: number, open: StreamOpen): Promise<Response> {
  const order = Array.from({ length: relays }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let response: Response | undefined;
  for (const i of order) {
    await response?.body?.cancel();
    response = await relayStub(env, id, i).openStream({ ...open, relay: relayName(id, i) });
    if (response.status !== 503) return response;
  }
  return response!;
}

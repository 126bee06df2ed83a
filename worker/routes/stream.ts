// GET /api/dashboards/:id/events (mounted at that path): checks the query, who is watching
// (middleware/viewer.ts: ticket, token or Access identity) and the filter, turns the request
// into one typed StreamOpen, and hands it to the dashboard's object (or one of its relays) over
// RPC. The object answers with the SSE response and holds the stream from then on; it never
// reads the URL.
import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
// zod/mini: the same schemas, tree-shaken to what is used (full zod was most of the bundle).
import * as z from "zod/mini";
import { DEFAULT_HISTORY_SECONDS } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import { relayName, type StreamOpen } from "../../core/rpc.ts";
import { parseStreamFilter } from "../../core/stream-filter.ts";
import { clientAddress } from "../client-address.ts";
import type { AppEnv } from "../env.ts";
import { jsonError } from "../errors.ts";
import { checkViewer } from "../middleware/viewer.ts";
import { dashboardStub, relayStub } from "../stubs.ts";

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
    const viewer = await checkViewer(c, { ticket: query.ticket });
    if (viewer instanceof Response) return viewer;
    // The ticket stays here: it is never forwarded, stored or logged.
    const open: StreamOpen = {
      filter,
      historySeconds: Math.min(query.history ?? DEFAULT_HISTORY_SECONDS, config.retentionSeconds),
      resumeId: c.req.header("Last-Event-ID") ?? query.lastEventId ?? null,
      viewer: { address: clientAddress(c.req.header("CF-Connecting-IP")), ...viewer },
    };
    if (config.relaysPerDashboard === 0) return dashboardStub(c.env, id).openStream(open);
    return openOnRelay(c.env, id, config.relaysPerDashboard, open);
  },
);

/**
 * Places a viewer on one of the dashboard's K relays, chosen at random; a relay that refuses
 * (503 full, 429 this client's cap there) is passed over for the next in a random order. Only
 * when all K refuse is a refusal returned: the 429 when any was one (the client's own limit).
 * So a client holds at most K × MAX_STREAMS_PER_CLIENT streams of a dashboard with relays.
 */
async function openOnRelay(env: Env, id: string, relays: number, open: StreamOpen): Promise<Response> {
  const order = Array.from({ length: relays }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let refused: Response | undefined;
  for (const i of order) {
    const response = await relayStub(env, id, i).openStream({ ...open, relay: relayName(id, i) });
    if (response.status !== 503 && response.status !== 429) {
      await refused?.body?.cancel();
      return response;
    }
    if (refused?.status === 429) await response.body?.cancel();
    else {
      await refused?.body?.cancel();
      refused = response;
    }
  }
  return refused!;
}

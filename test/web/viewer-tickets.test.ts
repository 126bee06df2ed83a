// The page's ticket handling against a real HTTP server playing the Worker's /api/config and
// /api/tickets: a public dashboard (listed in GET /api/config) and Access mode need no ticket and
// no token; any other dashboard in ticket mode waits for the token, then carries a ticket.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { nextTick, ref } from "vue";
import type { ClientConfig } from "../../contract/index.ts";
import { useViewerTickets } from "../../web/src/composables/useViewerTickets.ts";

let server: Server;
let config: ClientConfig;
const ticketsAsked: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/api/config") return void res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(config));
    let body = "";
    req.on("data", (c: Buffer) => (body += c));
    req.on("end", () => {
      ticketsAsked.push(body);
      // Team A's token on team B: 403, as the Worker answers a token of another dashboard.
      if (body.includes("team-b") && req.headers.authorization?.includes("team-a")) {
        return void res.writeHead(403, { "Content-Type": "application/json" }).end('{"error":"token_not_for_dashboard","message":"…"}');
      }
      res
        .writeHead(201, { "Content-Type": "application/json" })
        .end(JSON.stringify({ ticket: "t.sig", expiresAt: new Date().toISOString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const realFetch = globalThis.fetch;
  // The page's URLs are relative (same origin); here the origin is this server.
  vi.stubGlobal("fetch", (input: string, init?: RequestInit) => realFetch(new URL(input, origin), init));
});

afterAll(async () => {
  vi.unstubAllGlobals();
  await new Promise((resolve) => server.close(resolve));
});

describe("useViewerTickets", () => {
  it("asks no token and no ticket for a public dashboard, nor in Access mode", async () => {
    for (const [mode, dashboard] of [
      ["ticket", "open-board"],
      ["access", "team-a"],
    ] as const) {
      config = { viewerAuth: mode, ticketTtlSeconds: 60, public: ["open-board"] };
      const tickets = useViewerTickets(ref(dashboard));
      expect(await tickets.resolveStreamUrl(`/api/dashboards/${dashboard}/events?history=60`)).toBe(
        `/api/dashboards/${dashboard}/events?history=60`,
      );
      expect(tickets.needed.value).toBe(false);
    }
    expect(ticketsAsked).toEqual([]);
  });

  it("waits for the viewer token on any other dashboard in ticket mode, then carries a ticket", async () => {
    config = { viewerAuth: "ticket", ticketTtlSeconds: 60, public: ["open-board"] };
    const tickets = useViewerTickets(ref("team-a"));
    const url = tickets.resolveStreamUrl("/api/dashboards/team-a/events?history=60");
    await vi.waitFor(() => expect(tickets.needed.value).toBe(true));
    tickets.submit("team-a-viewer-token-0123456789");
    await nextTick();
    expect(await url).toBe("/api/dashboards/team-a/events?history=60&ticket=t.sig");
    expect(ticketsAsked).toEqual(['{"dashboard":"team-a"}']);
  });

  it("asks for the token again when it belongs to another dashboard (403)", async () => {
    config = { viewerAuth: "ticket", ticketTtlSeconds: 60 };
    ticketsAsked.length = 0;
    const tickets = useViewerTickets(ref("team-b"));
    const url = tickets.resolveStreamUrl("/api/dashboards/team-b/events");
    await vi.waitFor(() => expect(tickets.needed.value).toBe(true));
    tickets.submit("team-a-viewer-token-0123456789");
    await vi.waitFor(() => expect(tickets.error.value).toBe("That viewer token was not accepted."));
    expect(tickets.needed.value).toBe(true);
    tickets.submit("team-b-viewer-token-0123456789");
    expect(await url).toBe("/api/dashboards/team-b/events?ticket=t.sig");
    expect(ticketsAsked).toHaveLength(2);
  });
});

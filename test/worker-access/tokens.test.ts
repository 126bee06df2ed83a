// Teams kept apart by their own tokens (workers-access project: team-a and team-b name their own
// ingestToken and viewerToken; INGEST_TOKEN and VIEWER_TOKEN are set too; viewer auth is on).
// A dashboard's token writes and reads that dashboard only, on every route; a token of another
// dashboard is a 403 that does not say where it is valid; the global tokens work everywhere.
import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ApiError, ClientConfig, DashboardDef, Ticket } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import { tokenScope } from "../../worker/middleware/auth.ts";
import { TEAM_SECRETS } from "../setup/teams.ts";
import { streamOf, stub } from "../worker/helpers.ts";
import { dp, gauge, request as otlpMetrics } from "../worker/otlp-requests.ts";

const A = { ingest: TEAM_SECRETS.TEAM_A_INGEST_TOKEN, viewer: TEAM_SECRETS.TEAM_A_VIEWER_TOKEN };
const B = { ingest: TEAM_SECRETS.TEAM_B_INGEST_TOKEN, viewer: TEAM_SECRETS.TEAM_B_VIEWER_TOKEN };
const GLOBAL = { ingest: env.INGEST_TOKEN!, viewer: env.VIEWER_TOKEN! };

const url = (path: string) => `https://dash.test${path}`;
const published = async (id: string) => (await stub(id).stats()).eventsPublished;

/**
 * What a write that got through looks like: 2xx, or, for the notification test route, 404
 * `no_channels` (these dashboards have no channels: the token was accepted, there is nothing to test).
 */
async function expectWritten(what: string, response: Response, where = what): Promise<void> {
  if (what !== "notification test") {
    expect(response.status, where).toBeLessThan(300);
    await response.body?.cancel();
    return;
  }
  expect([response.status, ((await response.json()) as ApiError).error], where).toEqual([404, "no_channels"]);
}

/** One write of each ingest route to dashboard `id` with `token`: [what, response]. */
async function writeEverywhere(id: string, token: string): Promise<[string, Response][]> {
  const now = Date.now();
  const bearer = (type: string) => ({ Authorization: `Bearer ${token}`, "Content-Type": type });
  const post = (path: string, type: string, body: string) => SELF.fetch(url(path), { method: "POST", headers: bearer(type), body });
  const otlpLogs = JSON.stringify({
    resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: `${now}000000`, severityText: "INFO", body: { stringValue: "hi" } }] }] }],
  });
  return Promise.all(
    [
      [
        "metrics",
        post(
          `/api/dashboards/${id}/metrics`,
          "application/json",
          JSON.stringify({ queue_depth: 3, timestamp: new Date(now).toISOString() }),
        ),
      ],
      ["logs", post(`/api/dashboards/${id}/logs`, "application/json", JSON.stringify({ level: "info", message: "deployed" }))],
      [
        "otlp metrics",
        post(`/api/dashboards/${id}/otlp/v1/metrics`, "application/json", otlpMetrics(gauge("http.requests", [dp(5, now)]))),
      ],
      ["otlp logs", post(`/api/dashboards/${id}/otlp/v1/logs`, "application/json", otlpLogs)],
      [
        "line protocol",
        SELF.fetch(url(`/api/v2/write?bucket=${id}&precision=ms`), {
          method: "POST",
          headers: { Authorization: `Token ${token}` },
          body: `mem,host=a used_percent=42 ${now}`,
        }),
      ],
      [
        "notification test",
        SELF.fetch(url(`/api/dashboards/${id}/notifications/test`), { method: "POST", headers: bearer("application/json") }),
      ],
    ].map(async ([what, response]) => [what as string, await (response as Promise<Response>)] as [string, Response]),
  );
}

afterEach(() => vi.restoreAllMocks());

describe("a dashboard's own ingest token", () => {
  it("writes its dashboard on every ingest route, and is refused on another with a 403 that names no dashboard it is valid for", async () => {
    const before = { a: await published("team-a"), b: await published("team-b") };
    for (const [what, response] of await writeEverywhere("team-a", A.ingest)) await expectWritten(what, response);
    expect(await published("team-a")).toBeGreaterThanOrEqual(before.a + 5); // every route but the hook publishes

    for (const [what, response] of await writeEverywhere("team-b", A.ingest)) {
      expect(response.status, what).toBe(403);
      const text = await response.text();
      expect(text, what).not.toContain("team-a");
      const body = JSON.parse(text) as ApiError & { code?: string };
      // Line protocol answers in InfluxDB's shape, the others in the API's.
      if (what === "line protocol") expect(body).toEqual({ code: "forbidden", message: 'the token may not write to bucket "team-b"' });
      else expect(body.error, what).toBe("token_not_for_dashboard");
    }
    expect(await published("team-b")).toBe(before.b);
  });

  it("is no token at all to a dashboard of no team, and a token valid nowhere is a 401 before any bucket is looked at", async () => {
    for (const [what, response] of await writeEverywhere("t1", "not-a-token-of-anyone-0123")) {
      expect(response.status, what).toBe(401);
      await response.body?.cancel();
    }
    const probe = await SELF.fetch(url("/api/v2/write?bucket=no-such-bucket"), {
      method: "POST",
      headers: { Authorization: "Token nope-0123456789abcdef" },
      body: "x f=1",
    });
    expect(probe.status).toBe(401);
    expect(await probe.json()).toEqual({ code: "unauthorized", message: "the token is not valid" });
  });

  it("leaves the global INGEST_TOKEN valid on every dashboard", async () => {
    for (const id of ["team-a", "team-b", "o1"]) {
      for (const [what, response] of await writeEverywhere(id, GLOBAL.ingest)) await expectWritten(what, response, `${id} ${what}`);
    }
  });

  it("is compared with every configured token, in constant time, whichever matches", async () => {
    const config = readConfig(env);
    const tokens = 1 + [...config.dashboardAccess.values()].filter((d) => d.ingestToken).length;
    const spy = vi.spyOn(crypto.subtle, "timingSafeEqual");
    for (const token of [A.ingest, B.ingest, GLOBAL.ingest, "nobody's-token-0123456789"]) {
      spy.mockClear();
      await tokenScope(config, "ingest", token);
      expect(spy, token).toHaveBeenCalledTimes(tokens);
    }
  });
});

describe("a dashboard's own viewer token", () => {
  const ticket = (dashboard: string, token: string) =>
    SELF.fetch(url("/api/tickets"), {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ dashboard }),
    });

  it("gets tickets for its dashboard only; the ticket opens that stream", async () => {
    const mine = await ticket("team-a", A.viewer);
    expect(mine.status).toBe(201);
    const { ticket: t } = (await mine.json()) as Ticket;
    const stream = await streamOf(await SELF.fetch(url(`/api/dashboards/team-a/events?history=0&ticket=${encodeURIComponent(t)}`)));
    await stream.close();

    const other = await ticket("team-b", A.viewer);
    expect(other.status).toBe(403);
    const text = await other.text();
    expect(JSON.parse(text)).toEqual({
      error: "token_not_for_dashboard",
      message: 'This viewer token is not valid for dashboard "team-b"',
    });
    expect(text).not.toContain("team-a");
    expect((await ticket("team-b", B.viewer)).status).toBe(201);
    expect((await ticket("team-b", GLOBAL.viewer)).status).toBe(201);
    expect((await ticket("team-a", "no-one's-viewer-token-0123")).status).toBe(401);
    // An ingest token is not a viewer token.
    expect((await ticket("team-a", A.ingest)).status).toBe(401);
  });

  it("reads its dashboard's checks, stats, series and notifications, and only those", async () => {
    const get = (path: string, token: string) => SELF.fetch(url(path), { headers: { Authorization: `Bearer ${token}` } });
    for (const route of ["checks", "stats", "series", "notifications"]) {
      const mine = await get(`/api/dashboards/team-a/${route}`, A.viewer);
      expect(mine.status, route).toBe(200);
      await mine.body?.cancel();
      const other = await get(`/api/dashboards/team-b/${route}`, A.viewer);
      expect([other.status, ((await other.json()) as ApiError).error], route).toEqual([403, "token_not_for_dashboard"]);
      const anonymous = await SELF.fetch(url(`/api/dashboards/team-a/${route}`));
      expect([anonymous.status, ((await anonymous.json()) as ApiError).error], route).toEqual([401, "unauthorized"]);
    }
    // The stream takes the token as a bearer too (a server-side client has no need of a ticket).
    const stream = await streamOf(await get("/api/dashboards/team-a/events?history=0", A.viewer));
    await stream.close();
    expect((await get("/api/dashboards/team-b/events?history=0", A.viewer)).status).toBe(403);
  });

  it("is what it takes to see the health checks' URLs in the definition", async () => {
    const definition = async (headers: Record<string, string> = {}) => {
      const response = await SELF.fetch(url("/api/dashboards/team-a"), { headers });
      expect(response.status).toBe(200);
      return response.text();
    };
    for (const [who, headers] of [
      ["anonymous", {}],
      ["team B's viewer token", { Authorization: `Bearer ${B.viewer}` }],
      ["a wrong token", { Authorization: "Bearer wrong-token-0123456789" }],
    ] as const) {
      const text = await definition(headers);
      expect(text, who).not.toContain("team-a.internal");
      expect((JSON.parse(text) as DashboardDef).checks, who).toEqual([
        { name: "db", method: "GET", expectStatus: 200, timeoutMs: 5000, intervalSeconds: 30, downAfter: 2, upAfter: 2 },
      ]);
    }
    for (const token of [A.viewer, GLOBAL.viewer]) {
      expect((JSON.parse(await definition({ Authorization: `Bearer ${token}` })) as DashboardDef).checks[0]!.url).toBe(
        "https://db.team-a.internal/health",
      );
    }
  });
});

describe("public dashboards", () => {
  it("are watched by anyone, and GET /api/config lists them", async () => {
    expect(await (await SELF.fetch(url("/api/config"))).json()).toEqual({
      viewerAuth: "access",
      ticketTtlSeconds: 60,
      public: ["open-board"],
    } satisfies ClientConfig);
    const stream = await streamOf(await SELF.fetch(url("/api/dashboards/open-board/events?history=0")));
    await stream.close();
    expect((await SELF.fetch(url("/api/dashboards/open-board/stats"))).status).toBe(200);
    const closed = await SELF.fetch(url("/api/dashboards/t1/events?history=0"));
    expect([closed.status, ((await closed.json()) as ApiError).error]).toEqual([401, "ticket_required"]);
  });
});

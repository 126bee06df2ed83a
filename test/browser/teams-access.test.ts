// Teams through `wrangler dev`: team A's own ingest token writes team A on every ingest route and
// is refused on team B; and the page behind Cloudflare Access (the assertion header injected the
// way Access's edge adds it, its keys served by a local certs server): no token form, no ticket,
// live values; the same page without the header gets nothing.
import { createServer, type Server as HttpServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEAM_DASHBOARDS } from "../setup/dashboards.ts";
import { TEAM_SECRETS, TEST_ACCESS_AUD } from "../setup/teams.ts";
import { startDevStack, type DevStack } from "./stack.ts";

let certs: HttpServer;
let team: string;
let stack: DevStack;
let page: Page;
let sign: (email: string) => Promise<string>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "browser-k1", alg: "RS256", use: "sig" }] });
  certs = createServer((req, res) => {
    if (req.url === "/cdn-cgi/access/certs") res.writeHead(200, { "Content-Type": "application/json" }).end(jwks);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => certs.listen(0, "127.0.0.1", resolve));
  team = `http://127.0.0.1:${(certs.address() as { port: number }).port}`;
  sign = (email) =>
    new SignJWT({ email, type: "app" })
      .setProtectedHeader({ alg: "RS256", kid: "browser-k1" })
      .setIssuer(team)
      .setAudience(TEST_ACCESS_AUD)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(privateKey);
  stack = await startDevStack("teams", {
    ...TEAM_SECRETS,
    DASHBOARDS: JSON.stringify(TEAM_DASHBOARDS),
    ACCESS_TEAM_DOMAIN: team,
    ACCESS_AUD: TEST_ACCESS_AUD,
    VIEWER_SECRET: "browser-teams-viewer-secret-0123456789", // team A and B's viewer tokens sign tickets with it
  });
}, 150_000);

afterAll(async () => {
  await page?.close();
  await stack?.stop();
  await new Promise((resolve) => certs?.close(resolve));
});

const bearer = (token: string, type = "application/json") => ({ Authorization: `Bearer ${token}`, "Content-Type": type });

describe("team tokens through wrangler dev", () => {
  it("team A's ingest token writes team A on every ingest route and is refused on team B", async () => {
    const now = Date.now();
    const writes = (id: string) => [
      [`/api/dashboards/${id}/metrics`, "application/json", JSON.stringify({ queue_depth: 7, timestamp: new Date(now).toISOString() })],
      [`/api/dashboards/${id}/logs`, "application/json", JSON.stringify({ level: "warn", message: "disk at 91%" })],
      [
        `/api/dashboards/${id}/otlp/v1/metrics`,
        "application/json",
        JSON.stringify({
          resourceMetrics: [
            {
              scopeMetrics: [
                { metrics: [{ name: "http.requests", gauge: { dataPoints: [{ timeUnixNano: `${now}000000`, asDouble: 3 }] } }] },
              ],
            },
          ],
        }),
      ],
      [
        `/api/dashboards/${id}/otlp/v1/logs`,
        "application/json",
        JSON.stringify({
          resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: `${now}000000`, body: { stringValue: "hello" } }] }] }],
        }),
      ],
      [`/api/v2/write?bucket=${id}&precision=ms`, "text/plain", `mem,host=a used_percent=42 ${now}`],
    ];
    for (const [id, status] of [
      ["team-a", [202, 202, 200, 200, 204]],
      ["team-b", [403, 403, 403, 403, 403]],
    ] as const) {
      const got = [];
      for (const [path, type, body] of writes(id)) {
        const response = await fetch(`${stack.worker.url}${path}`, {
          method: "POST",
          headers: bearer(TEAM_SECRETS.TEAM_A_INGEST_TOKEN, type!),
          body,
        });
        const text = await response.text();
        if (id === "team-b") expect(text, path).not.toContain("team-a");
        got.push(response.status);
      }
      expect(got, id).toEqual(status);
    }
  });
});

describe("the page behind Cloudflare Access", () => {
  it("loads with no token form and no ticket, and goes live", async () => {
    expect(await (await fetch(`${stack.vite.url}/api/config`)).json()).toEqual({
      viewerAuth: "access",
      ticketTtlSeconds: 60,
      public: ["open-board"],
    });
    await stack.browser.context.setExtraHTTPHeaders({ "Cf-Access-Jwt-Assertion": await sign("alice@acme.com") });
    page = await stack.browser.context.newPage();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`));
    await page.goto(`${stack.vite.url}/?dashboard=team-a`);
    // Connected: live with the history of the writes above (waiting, when this test runs alone).
    await page.waitForSelector('.app[data-state="live"], .app[data-state="waiting"]', { timeout: 20_000 });
    expect(await page.locator("#viewer-token").count()).toBe(0);
    expect(await page.getByText("needs a viewer token").count()).toBe(0);

    const response = await fetch(`${stack.worker.url}/api/dashboards/team-a/metrics`, {
      method: "POST",
      headers: bearer(TEAM_SECRETS.TEAM_A_INGEST_TOKEN),
      body: JSON.stringify({ queue_depth: 123 }),
    });
    expect(response.status).toBe(202);
    await page.waitForSelector('.card[data-metric="queue_depth"][data-value="123"]', { timeout: 15_000 });
    expect(requests.filter((r) => r.startsWith("POST /api/tickets"))).toEqual([]);
    expect(requests.filter((r) => r.startsWith("GET /api/dashboards/team-a/events"))).toEqual([
      expect.stringMatching(/^GET \/api\/dashboards\/team-a\/events\?history=\d+$/),
    ]);
  });

  it("lets nobody in without a valid assertion, and keeps a narrowed dashboard to its viewers", async () => {
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${stack.worker.url}${path}`, { headers });
      await response.body?.cancel();
      return response.status;
    };
    expect(await get("/api/dashboards/team-a/events?history=0")).toBe(401);
    expect(await get("/api/dashboards/alice-only/events?history=0", { "Cf-Access-Jwt-Assertion": await sign("bob@acme.com") })).toBe(403);
    expect(await get("/api/dashboards/alice-only/events?history=0", { "Cf-Access-Jwt-Assertion": await sign("alice@acme.com") })).toBe(200);
  });
});

// The configuration of teams and access: every combination that cannot work stops the Worker at
// startup (readConfig runs at module load) with a message naming the dashboard and the key.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../../core/config/index.ts";

const NO_AUTH = { VIEWER_SECRET: undefined, VIEWER_TOKEN: undefined, ACCESS_TEAM_DOMAIN: undefined, ACCESS_AUD: undefined };
const SECRETS = { A_INGEST: "a-ingest-token-0123456789", A_VIEWER: "a-viewer-token-0123456789", SHORT: "too-short" };
const read = (overrides: Record<string, unknown>, dashboards?: Record<string, unknown>[]) => () =>
  readConfig({ ...env, ...NO_AUTH, ...SECRETS, ...overrides, ...(dashboards ? { DASHBOARDS: dashboards } : {}) } as Env);
const board = (extra: Record<string, unknown>) => [{ id: "a", name: "A", simulate: false, ...extra }];
const ACCESS = { ACCESS_TEAM_DOMAIN: "https://acme.cloudflareaccess.com", ACCESS_AUD: "aud-tag" };
const TICKETS = { VIEWER_SECRET: "viewer-secret-0123456789" };

describe("teams and access configuration", () => {
  it.each([
    [
      "Access domain without audience",
      { ACCESS_TEAM_DOMAIN: "https://acme.cloudflareaccess.com" },
      undefined,
      "Set both ACCESS_TEAM_DOMAIN and ACCESS_AUD",
    ],
    ["Access audience without domain", { ACCESS_AUD: "aud-tag" }, undefined, "only ACCESS_AUD is set"],
    ["Access domain over http", { ...ACCESS, ACCESS_TEAM_DOMAIN: "http://acme.cloudflareaccess.com" }, undefined, "must be https://"],
    [
      "Access domain with a path",
      { ...ACCESS, ACCESS_TEAM_DOMAIN: "https://acme.cloudflareaccess.com/x" },
      undefined,
      "as https://acme.cloudflareaccess.com",
    ],
    [
      "a $NAME that is not set",
      {},
      board({ ingestToken: "$MISSING_TOKEN" }),
      'dashboard "a": ingestToken is "$MISSING_TOKEN", but the secret MISSING_TOKEN is not set',
    ],
    [
      "a token under 16 characters",
      {},
      board({ ingestToken: "$SHORT" }),
      'dashboard "a": ingestToken: the secret SHORT must be at least 16 characters',
    ],
    ["a literal token", {}, board({ ingestToken: "literal-token-0123456789" }), 'dashboard "a": ingestToken must be "$NAME"'],
    ["viewerToken without VIEWER_SECRET", {}, board({ viewerToken: "$A_VIEWER" }), 'dashboard "a": viewerToken needs the VIEWER_SECRET'],
    [
      "public with viewers",
      ACCESS,
      board({ public: true, viewers: ["alice@acme.com"] }),
      'dashboard "a": public: a public dashboard cannot also name its viewers',
    ],
    [
      "viewers without Access",
      TICKETS,
      board({ viewerToken: "$A_VIEWER", viewers: ["alice@acme.com"] }),
      'dashboard "a": viewers needs Cloudflare Access',
    ],
    ["a viewer that is no email", ACCESS, board({ viewers: ["alice"] }), 'dashboard "a": viewers: "alice" is not an email or "*@domain"'],
    ["public that is not a boolean", {}, board({ public: "yes" }), 'dashboard "a": public must be true or false'],
    [
      "a private dashboard nobody can open",
      TICKETS,
      [...board({ viewerToken: "$A_VIEWER" }), { id: "b", name: "B" }],
      'dashboard "b": nobody could watch it',
    ],
    ["VIEWER_TOKEN without VIEWER_SECRET", { VIEWER_TOKEN: "viewer-token-0123456789" }, undefined, "Set VIEWER_SECRET too"],
    [
      "an unknown key",
      {},
      board({ ingest_token: "$A_INGEST" }),
      'unknown key "ingest_token" (known: id, name, simulate, metrics, checks, ingestToken, viewerToken, public, viewers, notify)',
    ],
  ])("stops at startup on %s", (_what, overrides, dashboards, message) => {
    expect(read(overrides, dashboards)).toThrow(ConfigError);
    expect(read(overrides, dashboards)).toThrow(message);
  });

  it("never repeats a literal token in its message", () => {
    expect(read({}, board({ viewerToken: "my-secret-viewer-token-0123" }))).not.toThrow(/my-secret/);
    expect(read({}, board({ viewerToken: "my-secret-viewer-token-0123" }))).toThrow(/must be "\$NAME"/);
  });

  it("needs neither global token when every dashboard has its own", () => {
    const config = read(TICKETS, board({ ingestToken: "$A_INGEST", viewerToken: "$A_VIEWER" }))();
    expect(config).toMatchObject({ viewerAuth: "ticket", viewer: { secret: TICKETS.VIEWER_SECRET, token: undefined } });
    expect(config.dashboardAccess.get("a")).toEqual({ ingestToken: SECRETS.A_INGEST, viewerToken: SECRETS.A_VIEWER, public: false });
  });

  it("reads Access, public, viewers (lowercased) and MAX_STREAMS_PER_CLIENT (default 20)", () => {
    const config = read(ACCESS, [
      { id: "a", name: "A", viewers: ["Alice@Acme.com", "*@payments.acme.com"] },
      { id: "b", name: "B", public: true },
    ])();
    expect(config.access).toEqual({ teamDomain: "https://acme.cloudflareaccess.com", audience: "aud-tag" });
    expect(config.viewerAuth).toBe("access");
    expect(config.dashboardAccess.get("a")).toEqual({ public: false, viewers: ["alice@acme.com", "*@payments.acme.com"] });
    expect(config.dashboardAccess.get("b")).toEqual({ public: true });
    expect(config.maxStreamsPerClient).toBe(20);
    expect(read({ MAX_STREAMS_PER_CLIENT: "0" }, board({}))).toThrow("MAX_STREAMS_PER_CLIENT must be a whole number from 1");
    expect(read({}, board({ public: true }))().viewerAuth).toBe("none");
  });
});

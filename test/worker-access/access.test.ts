// Cloudflare Access (workers-access project): a local server plays the team's
// /cdn-cgi/access/certs (test/setup/access-keys.global.ts, ACCESS_TEAM_DOMAIN); tokens are signed
// here with jose. A valid assertion watches with no ticket; anything forged, foreign, expired or
// for another application is a 401; a dashboard's `viewers` narrow it (403 for the others).
import { env, SELF } from "cloudflare:test";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { ApiError } from "../../contract/index.ts";
import { onRequest } from "../../web/functions/api/[[path]].ts";
import { app } from "../../worker/app.ts";
import { KEYS_REFETCH_COOLDOWN_MS } from "../../worker/access.ts";
import { TEST_ACCESS_AUD } from "../setup/teams.ts";
import { sleep } from "../worker/helpers.ts";

const TEAM = inject("accessTeamDomain");
type Key = { kid: string; privateKey: CryptoKey; jwk: JWK };

async function newKey(kid: string): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

/** Publishes these keys at the team's certs URL. */
async function publishKeys(...keys: Key[]): Promise<void> {
  await fetch(`${TEAM}/keys`, { method: "PUT", body: JSON.stringify({ keys: keys.map((k) => k.jwk) }) });
}

const fetches = async () => (await (await fetch(`${TEAM}/fetches`)).json()) as { count: number; lastAt: number };

/** Waits until the Worker may fetch the keys again for an unknown `kid` (jose's cooldown after a fetch). */
async function pastCooldown(): Promise<void> {
  const { lastAt } = await fetches();
  await sleep(Math.max(0, lastAt + KEYS_REFETCH_COOLDOWN_MS + 250 - Date.now()));
}

/** An Access assertion as Cloudflare signs it; `claims` override the defaults (undefined: left out). */
function assertion(key: Key, claims: Record<string, unknown> = {}, kid = key.kid): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    aud: [TEST_ACCESS_AUD],
    email: "alice@acme.com",
    exp: now + 3600,
    iat: now - 10,
    nbf: now - 10,
    iss: TEAM,
    type: "app",
    identity_nonce: "n",
    sub: "7335d417-61da-459d-899c-0a01c76a2f94",
    country: "NL",
    ...claims,
  };
  return new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid, typ: "JWT" }).sign(key.privateKey);
}

const b64 = (value: string | Uint8Array) =>
  btoa(typeof value === "string" ? value : String.fromCharCode(...value))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

/** GET through the Worker with the assertion; the stream's body is not read. */
async function get(path: string, jwt?: string): Promise<[number, string]> {
  const response = await SELF.fetch(`https://dash.test${path}`, { headers: jwt ? { "Cf-Access-Jwt-Assertion": jwt } : {} });
  if (!response.ok) return [response.status, ((await response.json()) as ApiError).error];
  await response.body?.cancel();
  return [response.status, ""];
}
const stream = (dashboard: string, jwt?: string) => get(`/api/dashboards/${dashboard}/events?history=0`, jwt);

let k1: Key;
beforeAll(async () => {
  k1 = await newKey("k1");
  await publishKeys(k1);
});

describe("Cloudflare Access", () => {
  it("lets a valid assertion watch: the stream with no ticket, stats, the check URLs", async () => {
    const jwt = await assertion(k1);
    expect(await stream("team-a", jwt)).toEqual([200, ""]);
    expect(await get("/api/dashboards/team-a/stats", jwt)).toEqual([200, ""]);
    const def = await SELF.fetch("https://dash.test/api/dashboards/team-a", { headers: { "Cf-Access-Jwt-Assertion": jwt } });
    expect(await def.text()).toContain("https://db.team-a.internal/health");
    // An audience list that contains ours is ours; without the header it is the usual 401.
    expect(await stream("team-a", await assertion(k1, { aud: ["another-app", TEST_ACCESS_AUD] }))).toEqual([200, ""]);
    expect(await stream("team-a")).toEqual([401, "ticket_required"]);
  });

  it("refuses with 401 what is not a valid assertion for this application", async () => {
    const now = Math.floor(Date.now() / 1000);
    const valid = await assertion(k1);
    const [header, payload, signature] = valid.split(".") as [string, string, string];
    const foreign = await newKey("k1"); // same kid, another team's key
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    const spki = new TextEncoder().encode(
      await exportSPKI(
        (await crypto.subtle.importKey("jwk", k1.jwk, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["verify"])) as CryptoKey,
      ),
    );
    const cases: [string, string][] = [
      ["wrong aud", await assertion(k1, { aud: "another-application-aud" })],
      ["wrong iss", await assertion(k1, { iss: "https://evil.cloudflareaccess.com" })],
      ["expired", await assertion(k1, { exp: now - 60 })],
      ["not yet valid", await assertion(k1, { nbf: now + 600 })],
      ["foreign-signed", await assertion(foreign)],
      ["alg none", `${b64(JSON.stringify({ alg: "none", kid: "k1", typ: "JWT" }))}.${payload}.`],
      ["HS256 keyed with the public key", await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "k1" }).sign(spki)],
      [
        "HS256 keyed with the JWK",
        await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "k1" }).sign(new TextEncoder().encode(JSON.stringify(k1.jwk))),
      ],
      ["tampered payload", `${header}.${b64(JSON.stringify({ ...claims, email: "mallory@acme.com" }))}.${signature}`],
      ["tampered signature", `${header}.${payload}.${signature.slice(0, -4)}AAAA`],
      ["garbage", "not-a-jwt"],
      ["far too long", "a".repeat(20_000)],
    ];
    for (const [what, jwt] of cases) {
      expect(await stream("team-a", jwt), what).toEqual([401, "access_invalid"]);
      expect(await get("/api/dashboards/team-a/checks", jwt), what).toEqual([401, "access_invalid"]);
    }
    // The same claims, signed right, pass: the cases above fail for what they change.
    expect(await stream("team-a", await new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "k1" }).sign(k1.privateKey))).toEqual([
      200,
      "",
    ]);
  });

  it("fetches the keys again for an unknown kid: a rotated key works, an unknown one stays refused", async () => {
    await stream("team-a", await assertion(k1)); // the keys are cached now
    await pastCooldown();
    const before = (await fetches()).count;
    expect(await stream("team-a", await assertion(k1, {}, "k-unknown")), "unknown kid").toEqual([401, "access_invalid"]);
    expect((await fetches()).count, "one refetch for the unknown kid").toBe(before + 1);

    const k2 = await newKey("k2");
    await publishKeys(k1, k2);
    await pastCooldown();
    expect(await stream("team-a", await assertion(k2)), "rotated key").toEqual([200, ""]);
    expect((await fetches()).count).toBe(before + 2);
    expect(await stream("team-a", await assertion(k2)), "cached now").toEqual([200, ""]);
    expect(await stream("team-a", await assertion(k1)), "the old key still published").toEqual([200, ""]);
    expect((await fetches()).count).toBe(before + 2);
  });

  it("narrows a dashboard to its viewers, by email and by *@domain (403 for the others)", async () => {
    const as = (email?: string) => assertion(k1, email === undefined ? { email: undefined, common_name: "ci.acme.com" } : { email });
    expect(await stream("alice-only", await as("alice@acme.com"))).toEqual([200, ""]);
    expect(await stream("alice-only", await as("ALICE@Acme.com")), "emails compare without case").toEqual([200, ""]);
    expect(await stream("alice-only", await as("bob@acme.com"))).toEqual([403, "not_a_viewer"]);
    expect(await stream("payments", await as("carol@payments.acme.com"))).toEqual([200, ""]);
    expect(await stream("payments", await as("carol@acme.com"))).toEqual([403, "not_a_viewer"]);
    expect(await stream("payments", await as("dave@eu.payments.acme.com")), "not a subdomain").toEqual([403, "not_a_viewer"]);
    expect(await stream("payments", await as("x@evil.com@payments.acme.com"))).toEqual([403, "not_a_viewer"]);
    // A service token (no email) watches what is not narrowed, and nothing that is.
    expect(await stream("alice-only", await as(undefined))).toEqual([403, "not_a_viewer"]);
    expect(await stream("team-a", await as(undefined))).toEqual([200, ""]);
    expect(await get("/api/dashboards/alice-only/stats", await as("bob@acme.com"))).toEqual([403, "not_a_viewer"]);
  });

  it("checks the assertion the same way on the Pages Function path", async () => {
    const pages = (jwt: string) =>
      onRequest({
        request: new Request("https://pages.test/api/dashboards/alice-only/events?history=0", {
          headers: { "Cf-Access-Jwt-Assertion": jwt },
        }),
        env: { API: { fetch: (request: Request) => SELF.fetch(request) } },
      });
    const ok = await pages(await assertion(k1));
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    expect((await pages(await assertion(k1, { email: "bob@acme.com" }))).status).toBe(403);
    expect((await pages(await assertion(k1, { aud: "x" }))).status).toBe(401);
  });

  it("answers 503 with Retry-After, not 401, when the team's keys cannot be fetched", async () => {
    const unreachable = { ...env, ACCESS_TEAM_DOMAIN: "http://127.0.0.1:9" } as Env;
    const response = await app.request(
      "https://dash.test/api/dashboards/team-a/stats",
      { headers: { "Cf-Access-Jwt-Assertion": await assertion(k1) } },
      unreachable,
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(((await response.json()) as ApiError).error).toBe("access_unavailable");
  });
});

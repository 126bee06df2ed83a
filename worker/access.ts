// Cloudflare Access: a request that passed an Access application carries its user's identity as
// `Cf-Access-Jwt-Assertion`, an RS256 JWT signed by one of the team's keys. jose (maintained,
// audited; JWT checks are easy to get subtly wrong by hand) verifies the signature with the
// keys from `<team>/cdn-cgi/access/certs` (cached per isolate, fetched again when a token names
// a key it does not know), `iss`, `aud`, `exp` and `nbf`, and accepts RS256 only: no `none`, no
// HMAC keyed with the public key.
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { AccessConfig } from "../core/config/index.ts";

export const ACCESS_HEADER = "Cf-Access-Jwt-Assertion";
/** Access assertions are 1–2 KB; anything far longer is not one (and is not parsed). */
const MAX_ASSERTION_LENGTH = 16 * 1024;
/**
 * After a fetch of the keys, a token naming an unknown key fetches them again only this much
 * later (jose's default is 30 s): a rotated key works within a second, and garbage `kid`s cost
 * one small fetch a second per isolate at most.
 */
export const KEYS_REFETCH_COOLDOWN_MS = 1000;

export type AccessCheck = { ok: true; email: string | undefined } | { ok: false; status: 401 | 503; message: string };

/** The team's keys could not be had: the assertion can be neither accepted nor refused. */
class KeysUnavailable extends Error {}

const keySets = new WeakMap<AccessConfig, JWTVerifyGetKey>();

function keysFor(access: AccessConfig): JWTVerifyGetKey {
  let getKey = keySets.get(access);
  if (!getKey) {
    const remote = createRemoteJWKSet(new URL(`${access.teamDomain}/cdn-cgi/access/certs`), {
      cooldownDuration: KEYS_REFETCH_COOLDOWN_MS,
      timeoutDuration: 5000,
    });
    getKey = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        // A fetch that failed, timed out or brought no key set (as opposed to a key that is not there).
        const code = err instanceof errors.JOSEError ? err.code : null;
        if (code === null || code === "ERR_JOSE_GENERIC" || code === "ERR_JWKS_TIMEOUT" || code === "ERR_JWKS_INVALID") {
          throw new KeysUnavailable(err instanceof Error ? err.message : String(err));
        }
        throw err;
      }
    };
    keySets.set(access, getKey);
  }
  return getKey;
}

/** Verifies an assertion; its `email` claim (lowercased) is the identity `viewers` are matched against. */
export async function verifyAccess(access: AccessConfig, assertion: string): Promise<AccessCheck> {
  if (assertion.length > MAX_ASSERTION_LENGTH) return { ok: false, status: 401, message: "The Cloudflare Access assertion is not valid" };
  try {
    const { payload } = await jwtVerify(assertion, keysFor(access), {
      issuer: access.teamDomain,
      audience: access.audience,
      algorithms: ["RS256"],
    });
    return { ok: true, email: typeof payload.email === "string" ? payload.email.toLowerCase() : undefined };
  } catch (err) {
    if (err instanceof KeysUnavailable) {
      console.error(`Cloudflare Access: the team's keys could not be fetched: ${err.message}`);
      return { ok: false, status: 503, message: "Your Cloudflare Access sign-in cannot be checked right now; try again shortly" };
    }
    const why = err instanceof errors.JWTExpired ? "has expired" : "is not valid for this application";
    return { ok: false, status: 401, message: `The Cloudflare Access assertion ${why}; sign in again` };
  }
}

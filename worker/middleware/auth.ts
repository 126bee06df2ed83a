// Who may call what: bearer tokens compared in constant time, the ingest token on the ingest
// routes, and the viewer token on the viewer-only JSON routes when viewer auth is on.
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { createMiddleware } from "hono/factory";
import { every } from "hono/combine";
import type { ApiError } from "../../contract/index.ts";
import { readConfig } from "../../core/config/index.ts";
import type { AppEnv } from "../env.ts";
import { jsonError } from "../errors.ts";

const encoder = new TextEncoder();

/**
 * Compares two secrets in constant time: both are hashed first, so neither their contents nor
 * their lengths change how long the comparison takes.
 */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([sha256(a), sha256(b)]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

async function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/** Bearer auth whose every failure is a 401 with a JSON body. */
export function requireBearer(secret: (c: Context) => string | undefined, what: string): MiddlewareHandler {
  const unauthorized = (message: string) => (c: Context) => c.json<ApiError>({ error: "unauthorized", message }, 401);
  return bearerAuth({
    verifyToken: async (token, c) => {
      const expected = secret(c);
      return expected !== undefined && (await constantTimeEqual(token, expected));
    },
    noAuthenticationHeader: { message: unauthorized(`Send Authorization: Bearer <${what}>`) },
    invalidAuthenticationHeader: { message: unauthorized(`Authorization must be "Bearer <${what}>"`) },
    invalidToken: { message: unauthorized(`The ${what} is not valid`) },
  });
}

/** Ingest is on (INGEST_TOKEN is set) and the request carries it. */
export const ingestAuth = every(
  createMiddleware<AppEnv>(async (c, next) => {
    if (!readConfig(c.env).ingestToken)
      return jsonError(c, 403, "ingest_disabled", "Ingest is off here: set the INGEST_TOKEN secret to enable it");
    await next();
  }),
  requireBearer((c) => readConfig(c.env).ingestToken, "ingest token"),
);

/** With viewer auth on, the routes that name internal URLs or history (checks, stats, series) need the viewer token too. */
export const viewerOnly = createMiddleware<AppEnv>(async (c, next) =>
  readConfig(c.env).viewer ? requireBearer((c) => readConfig(c.env).viewer?.token, "viewer token")(c, next) : next(),
);

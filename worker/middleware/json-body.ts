// JSON request bodies: the right Content-Type, a size limit, and the parsed body or a 400.
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { jsonError } from "../errors.ts";

/** `Content-Type: application/json` and at most `maxBytes`; `what` names the items in the 413's advice. */
export function jsonBody(maxBytes: number, what: string) {
  return every(
    createMiddleware<AppEnv>(async (c, next) => {
      const type = c.req.header("Content-Type")?.split(";")[0]!.trim().toLowerCase();
      if (type !== "application/json")
        return jsonError(c, 415, "unsupported_media_type", `Send the ${what} as Content-Type: application/json`);
      await next();
    }),
    bodyLimit({
      maxSize: maxBytes,
      onError: (c) => jsonError(c, 413, "payload_too_large", `Bodies are limited to ${maxBytes / 1024} KB; send fewer ${what} per request`),
    }),
  );
}

/** The parsed body, or the 400 to answer with. */
export async function readJson(c: Context<AppEnv>): Promise<{ body: unknown } | Response> {
  try {
    return { body: JSON.parse(await c.req.text()) };
  } catch {
    return jsonError(c, 400, "invalid_json", "The body is not valid JSON");
  }
}

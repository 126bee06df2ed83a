// Every error leaves the API as JSON: { error: <code>, message: <what to do about it> }.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ApiError } from "../contract/index.ts";

export function jsonError(c: Context, status: ContentfulStatusCode, error: string, message: string, headers?: Record<string, string>) {
  return c.json<ApiError>({ error, message }, status, headers);
}

/** A wait the object asked for (ms) as a whole number of seconds for Retry-After, at least 1. */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

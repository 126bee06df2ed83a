// Every error leaves the API as JSON: { error: <code>, message: <what to do about it> }.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ApiError } from "../contract/index.ts";

export function jsonError(c: Context, status: ContentfulStatusCode, error: string, message: string, headers?: Record<string, string>) {
  return c.json<ApiError>({ error, message }, status, headers);
}

// One attempt: POST the request, wait at most the channel's timeout, and say what happened in
// words that never carry the URL, a key or a secret (a receiver's error text is cut and scrubbed).
import { retryAfterMs, retryable } from "./retry.ts";

export interface Outcome {
  ok: boolean;
  /** The receiver's status, when it answered. */
  status?: number;
  /** Worth trying again (429, 5xx, timeout, network error). */
  retry: boolean;
  /** The receiver's Retry-After, in ms. */
  retryAfterMs?: number;
  /** For `lastError`: "HTTP 503", "timeout after 10 s", "network error: …". */
  reason: string;
}

const MAX_REASON = 200;

export async function post(
  url: string,
  request: { body: string; headers: Record<string, string> },
  timeoutMs: number,
  /** Strings never to repeat: the URL, keys, secrets. */
  secrets: readonly string[],
  now: () => number,
): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { ...request.headers, "User-Agent": "realtime-dashboard-notify" },
      body: request.body,
      // A redirect would send the alert somewhere the configuration does not name.
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const name = err instanceof Error ? err.name : "";
    if (name === "TimeoutError" || name === "AbortError") return { ok: false, retry: true, reason: `timeout after ${timeoutMs / 1000} s` };
    return { ok: false, retry: true, reason: scrub(`network error: ${err instanceof Error ? err.message : String(err)}`, url, secrets) };
  }
  const status = response.status;
  if (response.ok) {
    await response.body?.cancel();
    return { ok: true, status, retry: false, reason: `HTTP ${status}` };
  }
  const text = (await head(response)).replace(/\s+/g, " ").trim();
  const redirect = status >= 300 && status < 400 ? " (redirects are not followed)" : "";
  const outcome: Outcome = {
    ok: false,
    status,
    retry: retryable(status),
    reason: scrub(`HTTP ${status}${redirect}${text ? `: ${text}` : ""}`, url, secrets),
  };
  const wait = retryAfterMs(response.headers.get("Retry-After"), now());
  if (outcome.retry && wait !== undefined) outcome.retryAfterMs = wait;
  return outcome;
}

/** The first KiB of an error answer (a receiver may send a whole page); the rest is not read. */
async function head(response: Response, max = 1024): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // what arrived will do
  } finally {
    void reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) bytes.set(c, (at += c.length) - c.length);
  return new TextDecoder().decode(bytes.subarray(0, max));
}

/** `text` without the URL (or its path, which holds a chat hook's token) or any secret, and short. */
export function scrub(text: string, url: string, secrets: readonly string[]): string {
  let out = text;
  const { pathname } = new URL(url);
  for (const s of [url, ...secrets, ...(pathname.length > 8 ? [pathname] : [])]) if (s) out = out.split(s).join("[redacted]");
  out = out.replace(/https?:\/\/\S+/g, "[url]");
  return out.length > MAX_REASON ? `${out.slice(0, MAX_REASON - 1)}…` : out;
}

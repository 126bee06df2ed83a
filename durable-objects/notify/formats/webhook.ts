// A `webhook` channel: one transition per request, signed as Standard Webhooks
// (https://www.standardwebhooks.com/) define: `webhook-id` (the same on every retry),
// `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`
// `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. Signed with WebCrypto, which the
// runtime has natively: the `standardwebhooks` package would add a JavaScript SHA-256 to the
// Worker's bundle for five lines of code (the tests verify with it).
import type { WebhookPayload } from "../../../contract/index.ts";
import type { Notice } from "../notice.ts";
import type { Sender } from "./text.ts";

/** The body: `{ type, timestamp, data }`, fields in a fixed order, optional ones only when known. */
export function webhookPayload(sender: Sender, n: Notice): WebhookPayload {
  const data: Partial<WebhookPayload["data"]> = { dashboard: sender.dashboard, dashboardName: sender.dashboardName };
  if (n.metric !== undefined) data.metric = n.metric;
  if (n.series !== undefined) data.series = n.series;
  if (n.check !== undefined) data.check = n.check;
  if (n.type !== "test") data.level = n.level;
  if (n.previousLevel !== undefined) data.previousLevel = n.previousLevel;
  if (n.value !== undefined) data.value = n.value;
  if (n.threshold !== undefined) data.threshold = n.threshold;
  data.message = n.message;
  data.eventId = n.eventId;
  if (n.since !== undefined) data.since = n.since;
  if (sender.url !== undefined) data.url = sender.url;
  return { type: n.type, timestamp: n.at, data: data as WebhookPayload["data"] };
}

/** The three Standard Webhooks headers for `body`, sent at `nowMs`, with the key's base64 (after `whsec_`). */
export async function signatureHeaders(secret: string, id: string, body: string, nowMs: number): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const key = await crypto.subtle.importKey("raw", base64Bytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${bytesBase64(new Uint8Array(mac))}` };
}

function base64Bytes(b64: string): Uint8Array<ArrayBuffer> {
  const raw = atob(b64);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function bytesBase64(bytes: Uint8Array): string {
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw);
}

// Viewer tickets: EventSource cannot send headers, so a viewer trades its token for a short-lived
// ticket bound to one dashboard (POST /api/tickets) and puts that in the stream URL.
// base64url(JSON payload) "." base64url(HMAC-SHA256(payload)).
const encoder = new TextEncoder();

/** How long a new ticket is valid unless TICKET_TTL_SECONDS says otherwise. */
export const DEFAULT_TICKET_TTL_MS = 60_000;
const MAX_TICKET_LENGTH = 512;

interface TicketPayload {
  /** dashboard id */
  d: string;
  /** expiry, ms since epoch */
  exp: number;
  /** nonce, so two tickets issued in the same millisecond differ */
  n: string;
}

export type TicketCheck =
  { ok: true } | { ok: false; error: "invalid_ticket" | "ticket_expired" | "ticket_wrong_dashboard"; message: string };

export async function issueTicket(
  secret: string,
  dashboard: string,
  now = Date.now(),
  ttlMs = DEFAULT_TICKET_TTL_MS,
): Promise<{ ticket: string; expiresAt: string }> {
  const payload: TicketPayload = { d: dashboard, exp: now + ttlMs, n: crypto.randomUUID().slice(0, 8) };
  const body = base64url(encoder.encode(JSON.stringify(payload)));
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(body));
  return { ticket: `${body}.${base64url(new Uint8Array(signature))}`, expiresAt: new Date(payload.exp).toISOString() };
}

export async function checkTicket(secret: string, ticket: string, dashboard: string, now = Date.now()): Promise<TicketCheck> {
  const invalid = { ok: false, error: "invalid_ticket", message: "The ticket is not valid; ask POST /api/tickets for a new one" } as const;
  if (ticket.length > MAX_TICKET_LENGTH) return invalid;
  const [body, signature, extra] = ticket.split(".");
  if (!body || !signature || extra !== undefined) return invalid;
  const sig = fromBase64url(signature);
  // crypto.subtle.verify compares the MAC in constant time.
  if (!sig || !(await crypto.subtle.verify("HMAC", await hmacKey(secret), sig, encoder.encode(body)))) return invalid;
  let payload: TicketPayload;
  try {
    payload = JSON.parse(new TextDecoder().decode(fromBase64url(body)!)) as TicketPayload;
  } catch {
    return invalid;
  }
  if (payload.d !== dashboard) {
    return { ok: false, error: "ticket_wrong_dashboard", message: "The ticket was issued for another dashboard" };
  }
  if (!(payload.exp > now))
    return { ok: false, error: "ticket_expired", message: "The ticket has expired; ask POST /api/tickets for a new one" };
  return { ok: true };
}

const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

// Viewer tickets: when the Worker wants them (GET /api/config says "ticket"), every connection
// the stream opens itself first trades the viewer token (asked for once, kept in
// sessionStorage for this tab, only ever sent in an Authorization header) for a short-lived
// ticket for the current dashboard.
import { ref, toValue, type MaybeRefOrGetter, type Ref } from "vue";
import { STREAM_QUERY, type ClientConfig } from "../../../contract/index.ts";
import { fetchClientConfig, requestTicket } from "../lib/api.ts";

/** sessionStorage key of the viewer token: this tab only, never in a URL. */
const TOKEN_KEY = "rtd.viewerToken";

export interface UseViewerTicketsReturn {
  /** Ticket mode and no usable viewer token: the page asks for one. */
  needed: Readonly<Ref<boolean>>;
  /** Why the last token was not taken, for the form. */
  error: Readonly<Ref<string | null>>;
  /** Keep the token typed in the form and let a stream waiting for one go on. */
  submit: (token: string) => void;
  /** The stream's `resolveUrl`: in ticket mode, a fresh ticket for the dashboard in `?ticket=`. */
  resolveStreamUrl: (target: string) => Promise<string>;
  /** Whether a fatal stream failure is just the ticket's time running out. */
  expired: (failures: number, failure: unknown) => boolean;
  /** The Authorization header for the viewer-only JSON routes, when there is a token. */
  authorization: () => string | undefined;
}

/** @param dashboard the dashboard the tickets are for. */
export function useViewerTickets(dashboard: MaybeRefOrGetter<string | null>): UseViewerTicketsReturn {
  const needed = ref(false);
  const error = ref<string | null>(null);
  let configRequest: Promise<ClientConfig> | null = null;
  /** GET /api/config once (again only if it failed); started at once, alongside the list. */
  const clientConfig = () =>
    (configRequest ??= fetchClientConfig().catch((failure: unknown) => {
      configRequest = null;
      throw failure;
    }));
  clientConfig().catch(() => {}); // the stream's resolve reports a failure
  const storage = (() => {
    try {
      return globalThis.sessionStorage ?? null;
    } catch {
      return null; // storage blocked: the token is kept by this page only
    }
  })();
  let viewerToken = storage?.getItem(TOKEN_KEY) || null;
  let tokenWaiter: ((token: string) => void) | null = null;
  let ticketTtlMs = 60_000;
  /** When the ticket of the current connection arrived. */
  let ticketAt: number | null = null;

  /** Stores the token the user typed and lets a stream waiting for it go on. */
  function submitToken(value: string): void {
    const token = value.trim();
    if (!token) {
      error.value = "Enter the viewer token.";
      return;
    }
    viewerToken = token;
    try {
      storage?.setItem(TOKEN_KEY, token);
    } catch {
      // full or blocked: kept by this page only
    }
    error.value = null;
    tokenWaiter?.(token);
    tokenWaiter = null;
  }

  /**
   * Before each connection the stream opens itself: in ticket mode, a fresh ticket for this
   * dashboard in `?ticket=`. Waits (without failing) while there is no token; a refused token is
   * forgotten and asked for again. Anything else that fails is a fatal failure (backoff).
   */
  async function resolveStreamUrl(target: string): Promise<string> {
    const id = toValue(dashboard)!;
    const config = await clientConfig();
    // "access": Cloudflare Access signed the user in; a public dashboard needs nothing either.
    if (config.viewerAuth !== "ticket" || config.public?.includes(id)) return target;
    ticketTtlMs = config.ticketTtlSeconds * 1000;
    for (;;) {
      const token =
        viewerToken ??
        (await new Promise<string>((resolve) => {
          needed.value = true;
          tokenWaiter = resolve; // a superseded resolve waits forever and is dropped
        }));
      const ticket = await requestTicket(id, token).catch((failure: unknown) => {
        needed.value = false; // not the token's fault: show the stream's state (unreachable…)
        throw failure;
      });
      if (ticket) {
        needed.value = false;
        error.value = null;
        ticketAt = Date.now();
        return `${target}${target.includes("?") ? "&" : "?"}${STREAM_QUERY.ticket}=${encodeURIComponent(ticket.ticket)}`;
      }
      if (viewerToken === token) {
        viewerToken = null;
        storage?.removeItem(TOKEN_KEY);
      }
      error.value = "That viewer token was not accepted.";
    }
  }

  /** Whether a fatal stream failure is just the ticket's time running out (the next try has a fresh one). */
  function expired(failures: number, failure: unknown): boolean {
    return failure === undefined && failures === 1 && ticketAt !== null && Date.now() - ticketAt >= ticketTtlMs - 1000;
  }

  /** The Authorization header for the viewer-only JSON routes (…/checks), when there is a token. */
  const authorization = () => (viewerToken ? `Bearer ${viewerToken}` : undefined);

  return { needed, error, submit: submitToken, resolveStreamUrl, expired, authorization };
}

// What useEventStream takes and gives: the EventSource it drives (or a stand-in), the per-event
// handlers, the retry policy and its backoff, the page it watches for visibility and bfcache,
// and the stream's reactive face. Kept apart so the composable file is its state machine alone.
import type { Ref } from "vue";

export type StreamStatus = "connecting" | "open" | "closed";

/** What this composable needs from an EventSource: the browser's and the `eventsource` package's both fit. */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}
export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike;

/** The part of a MessageEvent a handler gets. */
export interface StreamMessage {
  readonly type: string;
  readonly data: string;
  readonly lastEventId: string;
}

/** Event name → payload type. Use the key `message` for events sent without an `event:` field. */
export type EventMap = Record<string, unknown>;
export type EventHandlers<E extends EventMap> = {
  [K in keyof E & string]?: (data: E[K], message: StreamMessage) => void;
};

export interface RetryOptions {
  /** Reconnects after fatal errors before giving up (default 8; Infinity never gives up). */
  maxAttempts?: number;
  /** First delay (default 1000 ms); multiplied by `factor` per failure, capped at `maxMs`. */
  baseMs?: number;
  factor?: number;
  maxMs?: number;
  /** Fraction of each delay that is random: delay × (1 − jitter × random()) (default 0.5). */
  jitter?: number;
  random?: () => number;
}

export interface ErrorInfo {
  /** True when the EventSource gave up (readyState CLOSED); false while it retries by itself. */
  fatal: boolean;
  /** Fatal failures in a row, this one included (0 for non-fatal errors). */
  failures: number;
  /** The EventSource's error event (a plain `error` Event when resolveUrl failed). */
  event: Event;
  /** What resolveUrl threw or rejected with, when that was the failure. */
  error?: unknown;
}

export interface VisibilityTarget {
  readonly hidden: boolean;
  addEventListener(type: "visibilitychange", listener: () => void): void;
  removeEventListener(type: "visibilitychange", listener: () => void): void;
}
export interface PageLifecycleEvent {
  readonly type: string;
  /** `pageshow` from the back/forward cache. */
  readonly persisted?: boolean;
}
export interface PageLifecycleTarget {
  addEventListener(type: "pagehide" | "pageshow", listener: (event: PageLifecycleEvent) => void): void;
  removeEventListener(type: "pagehide" | "pageshow", listener: (event: PageLifecycleEvent) => void): void;
}

export interface UseEventStreamOptions<E extends EventMap> {
  /** One callback per named event; each event is delivered on its own, in order. */
  on?: EventHandlers<E>;
  /** Turns `data` into the payload (default JSON.parse). A throw skips the event and calls onParseError. */
  parse?: (data: string, event: string) => unknown;
  onParseError?: (error: unknown, message: StreamMessage) => void;
  onOpen?: () => void;
  onError?: (info: ErrorInfo) => void;
  /** Called once when fatal errors exceeded retry.maxAttempts; status is then "closed". */
  onGiveUp?: (info: { failures: number }) => void;
  /**
   * Awaited before every connection this composable opens itself (first open, after a fatal
   * error, reconnect(), resume(), visibility and page-show resumes), with the URL it would open
   * (`?lastEventId=` included); the EventSource opens what it returns. The browser's own
   * retries keep that URL. A throw or rejection counts as a fatal failure (backoff, retry
   * limit, onGiveUp; onError gets it as `error`). A result that arrives after the URL changed
   * or the stream was closed, paused or reconnected is ignored.
   */
  resolveUrl?: (url: string) => string | PromiseLike<string>;
  /** Defaults to globalThis.EventSource; inject another implementation (tests, Node). */
  eventSource?: EventSourceConstructor;
  withCredentials?: boolean;
  /** Connect at once (default true); otherwise call open(). */
  immediate?: boolean;
  retry?: RetryOptions;
  /** Query parameter carrying the last id on reconnects this composable makes (default "lastEventId"). */
  lastEventIdParam?: string;
  initialLastEventId?: string | null;
  /** A new URL is a new stream: forget lastEventId (default true). */
  resetOnUrlChange?: boolean;
  /** Close while the document is hidden, resume from lastEventId when visible (default false). */
  pauseWhenHidden?: boolean;
  /** Stay connected this long after the document becomes hidden (default 0). */
  hiddenGraceMs?: number;
  /** Close on `pagehide`, reopen on a bfcache `pageshow` (default true). */
  closeOnPageHide?: boolean;
  /** Defaults to globalThis.document / globalThis.window when they exist. */
  document?: VisibilityTarget | null;
  window?: PageLifecycleTarget | null;
}

export interface UseEventStreamReturn {
  status: Readonly<Ref<StreamStatus>>;
  /** Id of the last event received on any connection of this stream. */
  lastEventId: Readonly<Ref<string | null>>;
  /** True while connecting again after a drop or a fatal error (as opposed to the first connect). */
  reconnecting: Readonly<Ref<boolean>>;
  /** Fatal failures in a row; reset by a successful open. */
  failures: Readonly<Ref<number>>;
  /** When the next retry after a fatal error is due (ms since epoch), or null. */
  nextRetryAt: Readonly<Ref<number | null>>;
  gaveUp: Readonly<Ref<boolean>>;
  /** Paused by pause() or by a hidden document. */
  paused: Readonly<Ref<boolean>>;
  /** Connect (again) if closed, gave up or paused by hand; resumes from lastEventId. */
  open: () => void;
  /** Close now and stay closed until open(). */
  close: () => void;
  /** Close and connect again at once, from lastEventId, with the failure count reset. */
  reconnect: () => void;
  /** Close but remember the position; resume() continues from it. */
  pause: () => void;
  resume: () => void;
}

/** The retry options with their defaults filled in. */
export const retryPolicy = (retry: RetryOptions = {}): Required<RetryOptions> => ({
  maxAttempts: retry.maxAttempts ?? 8,
  baseMs: retry.baseMs ?? 1000,
  factor: retry.factor ?? 2,
  maxMs: retry.maxMs ?? 30_000,
  jitter: retry.jitter ?? 0.5,
  random: retry.random ?? Math.random,
});

/**
 * The page's one backoff (the stream's reconnects, the definition's refetches): base ×
 * factor^(n−1), capped, minus up to `jitter` of it at random.
 */
export function backoffDelay(failures: number, retry: Required<RetryOptions>): number {
  const capped = Math.min(retry.maxMs, retry.baseMs * retry.factor ** Math.max(0, failures - 1));
  return Math.round(capped * (1 - retry.jitter * retry.random()));
}

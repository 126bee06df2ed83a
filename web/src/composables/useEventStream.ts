// A typed EventSource composable for long-lived SSE streams. Compared with VueUse's
// useEventSource it:
//   - reports three states and stays "connecting" while the EventSource retries by itself
//     (readyState CONNECTING after an error) instead of claiming "closed";
//   - exposes lastEventId and keeps it across manual, fatal-error, visibility and page-hide
//     reconnects, which reopen with `?lastEventId=` so the server can replay what was missed;
//   - calls one callback per named event, per event: a burst of identical payloads is never
//     merged into one reactive update;
//   - backs off with jitter only after fatal errors (non-200 or wrong content type: the
//     EventSource gives up, readyState CLOSED), with a retry limit and onGiveUp;
//   - ignores anything a replaced connection still delivers;
//   - can resolve the URL asynchronously before each connection it opens itself (resolveUrl:
//     e.g. a short-lived ticket), dropping a resolve that a URL change or close() overtook;
//   - closes on scope dispose (component unmount) and on `pagehide`, and optionally pauses
//     while the document is hidden.
import { getCurrentScope, onScopeDispose, readonly, ref, toValue, watch, type MaybeRefOrGetter, type Ref } from "vue";

export type StreamStatus = "connecting" | "open" | "closed";

const CONNECTING = 0;
const CLOSED = 2;

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

export interface EventStream {
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

export function useEventStream<E extends EventMap>(
  url: MaybeRefOrGetter<string | null | undefined>,
  options: UseEventStreamOptions<E> = {},
): EventStream {
  const {
    on = {} as EventHandlers<E>,
    parse = (data: string) => JSON.parse(data) as unknown,
    onParseError = (error: unknown, message: StreamMessage) => console.warn(`unparsable "${message.type}" event`, error),
    withCredentials = false,
    immediate = true,
    lastEventIdParam = "lastEventId",
    resetOnUrlChange = true,
    pauseWhenHidden = false,
    hiddenGraceMs = 0,
    closeOnPageHide = true,
  } = options;
  const retry = {
    maxAttempts: options.retry?.maxAttempts ?? 8,
    baseMs: options.retry?.baseMs ?? 1000,
    factor: options.retry?.factor ?? 2,
    maxMs: options.retry?.maxMs ?? 30_000,
    jitter: options.retry?.jitter ?? 0.5,
    random: options.retry?.random ?? Math.random,
  };
  const doc = options.document !== undefined ? options.document : ((globalThis as { document?: VisibilityTarget }).document ?? null);
  const win = options.window !== undefined ? options.window : ((globalThis as { window?: PageLifecycleTarget }).window ?? null);

  const status = ref<StreamStatus>("closed");
  const lastEventId = ref<string | null>(options.initialLastEventId ?? null);
  const reconnecting = ref(false);
  const failures = ref(0);
  const nextRetryAt = ref<number | null>(null);
  const gaveUp = ref(false);
  const paused = ref(false);

  let source: EventSourceLike | null = null;
  /** The resolveUrl call in flight, if any: a new connect() or drop() replaces or clears it. */
  let resolving: object | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let hideTimer: ReturnType<typeof setTimeout> | null = null;
  /** open() has been called and close() has not: the stream should be up when nothing else stops it. */
  let wanted = immediate;
  let pausedByHand = false;
  let pausedByVisibility = false;
  let pausedByPageHide = false;

  function clearTimer(): void {
    if (retryTimer !== null) clearTimeout(retryTimer);
    retryTimer = null;
    nextRetryAt.value = null;
  }

  /**
   * Drops the current EventSource (its listeners see `source !== es` from now on and do nothing)
   * and forgets a resolveUrl still in flight (its result will be ignored).
   */
  function drop(): void {
    const es = source;
    source = null;
    resolving = null;
    es?.close();
  }

  /** A connection is open or on its way (resolving, or waiting for a retry). */
  function busy(): boolean {
    return source !== null || resolving !== null || retryTimer !== null;
  }

  function streamUrl(base: string): string {
    const id = lastEventId.value;
    if (!id || !lastEventIdParam) return base;
    // Relative URLs are fine for the browser's EventSource; resolve only to edit the query.
    const resolved = new URL(base, "http://relative.invalid");
    resolved.searchParams.set(lastEventIdParam, id);
    return resolved.origin === "http://relative.invalid" ? resolved.pathname + resolved.search + resolved.hash : resolved.href;
  }

  function shouldRun(): boolean {
    return wanted && !pausedByHand && !pausedByVisibility && !pausedByPageHide && !!toValue(url);
  }

  function connect(): void {
    drop();
    clearTimer();
    paused.value = pausedByHand || pausedByVisibility;
    if (!shouldRun()) {
      status.value = "closed";
      reconnecting.value = false;
      return;
    }
    const base = toValue(url)!;
    const target = streamUrl(base);
    status.value = "connecting";
    if (!options.resolveUrl) {
      openSource(target);
      return;
    }
    const attempt = {};
    resolving = attempt;
    // A new Promise, so that a resolver that throws synchronously fails the same way.
    // Overtaken by connect() or drop(), or the URL changed and its watcher has yet to run.
    const current = () => resolving === attempt && toValue(url) === base;
    new Promise<string>((resolve) => resolve(options.resolveUrl!(target))).then(
      (resolved) => {
        if (!current()) return;
        resolving = null;
        openSource(resolved);
      },
      (error: unknown) => {
        if (!current()) return;
        resolving = null;
        fail(new Event("error"), error);
      },
    );
  }

  function openSource(target: string): void {
    const Impl = options.eventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    if (!Impl) throw new Error("useEventStream: no EventSource implementation; pass options.eventSource");
    const es = new Impl(target, { withCredentials });
    source = es;

    es.addEventListener("open", () => {
      if (source !== es) return;
      status.value = "open";
      reconnecting.value = false;
      failures.value = 0;
      gaveUp.value = false;
      options.onOpen?.();
    });

    es.addEventListener("error", (event: Event) => {
      if (source !== es) return;
      if (es.readyState === CONNECTING) {
        // The EventSource reconnects by itself (after the server's `retry:`), sending Last-Event-ID.
        status.value = "connecting";
        reconnecting.value = true;
        options.onError?.({ fatal: false, failures: 0, event });
        return;
      }
      // Fatal: non-200, wrong content type, or the browser decided retrying is futile.
      if (es.readyState === CLOSED) fail(event);
    });

    for (const name of Object.keys(on) as (keyof E & string)[]) {
      const handler = on[name];
      if (!handler) continue;
      es.addEventListener(name, (event: MessageEvent<string>) => {
        if (source !== es) return;
        if (event.lastEventId) lastEventId.value = event.lastEventId;
        let payload: unknown;
        try {
          payload = parse(event.data, name);
        } catch (error) {
          onParseError(error, event);
          return;
        }
        try {
          handler(payload as E[typeof name], event);
        } catch (error) {
          console.error(`useEventStream: the "${name}" handler threw`, error);
        }
      });
    }
  }

  /** A fatal failure (the EventSource gave up, or resolveUrl failed): back off and retry, or give up. */
  function fail(event: Event, error?: unknown): void {
    drop();
    failures.value++;
    reconnecting.value = true;
    status.value = "connecting";
    options.onError?.({ fatal: true, failures: failures.value, event, error });
    if (busy() || !wanted) return; // the callback reconnected or closed
    if (failures.value > retry.maxAttempts) {
      status.value = "closed";
      reconnecting.value = false;
      gaveUp.value = true;
      options.onGiveUp?.({ failures: failures.value });
      return;
    }
    const delay = backoffDelay(failures.value, retry);
    nextRetryAt.value = Date.now() + delay;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      nextRetryAt.value = null;
      connect();
    }, delay);
  }

  function open(): void {
    wanted = true;
    pausedByHand = false;
    gaveUp.value = false;
    if (!busy()) connect();
    else paused.value = pausedByVisibility;
  }

  function close(): void {
    wanted = false;
    drop();
    clearTimer();
    status.value = "closed";
    reconnecting.value = false;
  }

  function reconnect(): void {
    wanted = true;
    failures.value = 0;
    gaveUp.value = false;
    connect();
  }

  function pause(): void {
    pausedByHand = true;
    connect(); // closes, keeps lastEventId
  }

  function resume(): void {
    if (!pausedByHand) return;
    pausedByHand = false;
    failures.value = 0;
    connect();
  }

  const stopUrlWatch = watch(
    () => toValue(url),
    (next, previous) => {
      if (next === previous) return;
      if (resetOnUrlChange) lastEventId.value = null;
      failures.value = 0;
      gaveUp.value = false;
      reconnecting.value = false;
      if (wanted) connect();
    },
  );

  function onVisibilityChange(): void {
    if (!doc || !pauseWhenHidden) return;
    if (doc.hidden) {
      if (hideTimer !== null) return;
      hideTimer = setTimeout(() => {
        hideTimer = null;
        pausedByVisibility = true;
        if (wanted) connect();
      }, hiddenGraceMs);
    } else {
      if (hideTimer !== null) clearTimeout(hideTimer);
      hideTimer = null;
      if (!pausedByVisibility) return;
      pausedByVisibility = false;
      failures.value = 0;
      if (wanted) connect();
    }
  }

  function onPageHide(): void {
    pausedByPageHide = true;
    drop();
    clearTimer();
    status.value = "closed";
  }

  function onPageShow(event: PageLifecycleEvent): void {
    if (!pausedByPageHide) return;
    pausedByPageHide = false;
    if (event.persisted && wanted) connect();
  }

  if (pauseWhenHidden && doc) {
    doc.addEventListener("visibilitychange", onVisibilityChange);
    if (doc.hidden) pausedByVisibility = true;
  }
  if (closeOnPageHide && win) {
    win.addEventListener("pagehide", onPageHide);
    win.addEventListener("pageshow", onPageShow);
  }

  if (getCurrentScope()) {
    onScopeDispose(() => {
      close();
      stopUrlWatch();
      if (hideTimer !== null) clearTimeout(hideTimer);
      doc?.removeEventListener("visibilitychange", onVisibilityChange);
      win?.removeEventListener("pagehide", onPageHide);
      win?.removeEventListener("pageshow", onPageShow);
    });
  }

  if (wanted) connect();
  else paused.value = pausedByVisibility;

  return {
    status: readonly(status),
    lastEventId: readonly(lastEventId),
    reconnecting: readonly(reconnecting),
    failures: readonly(failures),
    nextRetryAt: readonly(nextRetryAt),
    gaveUp: readonly(gaveUp),
    paused: readonly(paused),
    open,
    close,
    reconnect,
    pause,
    resume,
  };
}

/** Exponential backoff with jitter: base × factor^(n−1), capped, minus up to `jitter` of it at random. */
export function backoffDelay(failures: number, retry: Required<RetryOptions>): number {
  const capped = Math.min(retry.maxMs, retry.baseMs * retry.factor ** Math.max(0, failures - 1));
  return Math.round(capped * (1 - retry.jitter * retry.random()));
}

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
import { getCurrentScope, onScopeDispose, readonly, ref, toValue, watch, type MaybeRefOrGetter } from "vue";
import {
  backoffDelay,
  retryPolicy,
  type EventHandlers,
  type EventMap,
  type EventSourceConstructor,
  type EventSourceLike,
  type UseEventStreamReturn,
  type PageLifecycleEvent,
  type PageLifecycleTarget,
  type StreamMessage,
  type StreamStatus,
  type UseEventStreamOptions,
  type VisibilityTarget,
} from "../lib/event-stream.ts";

const CONNECTING = 0;
const CLOSED = 2;

export function useEventStream<E extends EventMap>(
  url: MaybeRefOrGetter<string | null | undefined>,
  options: UseEventStreamOptions<E> = {},
): UseEventStreamReturn {
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
  const retry = retryPolicy(options.retry);
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

// The composable against a real SSE server over real sockets, with the `eventsource` package's
// spec-compliant EventSource injected as the implementation (Node has none built in). Each
// test covers one of the flaws of VueUse's useEventSource that this composable avoids.
import { EventSource } from "eventsource";
import { Window } from "happy-dom";
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import { effectScope, nextTick, ref, watch } from "vue";
import { EVENT, type Alert, type Gap, type MetricUpdate } from "../../contract/index.ts";
import { useEventStream } from "../../web/src/composables/useEventStream.ts";
import { backoffDelay, type EventHandlers, type StreamStatus, type UseEventStreamOptions } from "../../web/src/lib/event-stream.ts";
import { SseServer } from "./sse-server.ts";

type Events = { [EVENT.metric]: MetricUpdate; [EVENT.alert]: Alert; [EVENT.gap]: Gap };

const sample = (cpu: number): MetricUpdate => ({ cpu, memory: 50, timestamp: "2026-11-21T10:00:00.000Z" });
const metricFrame = (id: string, cpu = 40) => ({ id, event: EVENT.metric, data: JSON.stringify(sample(cpu)) });

let server: SseServer;
/** Every EventSource the composable created, in order. */
let instances: EventSource[];
class RecordingEventSource extends EventSource {
  constructor(url: string | URL, init?: ConstructorParameters<typeof EventSource>[1]) {
    super(url, init);
    instances.push(this);
  }
}

const scopes: ReturnType<typeof effectScope>[] = [];
function mount<E extends Record<string, unknown>>(url: Parameters<typeof useEventStream>[0], options: UseEventStreamOptions<E>) {
  const scope = effectScope();
  scopes.push(scope);
  const stream = scope.run(() => useEventStream<E>(url, { eventSource: RecordingEventSource, document: null, window: null, ...options }))!;
  /** Every status the stream went through, in order, duplicates collapsed. */
  const statuses: StreamStatus[] = [stream.status.value];
  scope.run(() => watch(stream.status, (s) => statuses.push(s), { flush: "sync" }));
  return { stream, statuses, unmount: () => scope.stop() };
}

beforeEach(async () => {
  server = await SseServer.start();
  instances = [];
});

afterEach(async () => {
  for (const scope of scopes.splice(0)) scope.stop();
  await server.close();
});

describe("useEventStream", () => {
  it("calls one typed callback per named event, once per event, even for identical payloads", async () => {
    const metrics: MetricUpdate[] = [];
    const alerts: Alert[] = [];
    const gaps: Gap[] = [];
    const ids: string[] = [];
    const alert: Alert = {
      level: "critical",
      metric: "cpu",
      value: 95,
      threshold: 90,
      message: "CPU high",
      timestamp: "2026-11-21T10:00:01.000Z",
    };
    server.onRequest = (r) => {
      r.accept();
      // Twenty identical samples in one write: a ref-based API would merge them into one change.
      const burst = Array.from({ length: 20 }, (_, i) => metricFrame(`1000-${i}`));
      r.send(...burst, { id: "1001-0", event: EVENT.alert, data: JSON.stringify(alert) });
      r.send({ event: EVENT.gap, data: JSON.stringify({ lastEventId: "1-0", oldestId: null, message: "gone" }) });
    };
    const { stream, statuses } = mount<Events>(`${server.url}/events`, {
      on: {
        [EVENT.metric]: (data, message) => {
          metrics.push(data);
          ids.push(message.lastEventId);
        },
        [EVENT.alert]: (data) => alerts.push(data),
        [EVENT.gap]: (data) => gaps.push(data),
      },
    });
    expect(stream.status.value).toBe("connecting");
    await vi.waitFor(() => expect(gaps).toHaveLength(1));

    expect(metrics).toHaveLength(20);
    expect(new Set(metrics.map((m) => JSON.stringify(m))).size).toBe(1);
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => `1000-${i}`));
    expect(alerts).toEqual([alert]);
    // The gap has no id: the position stays at the last event that had one.
    expect(stream.lastEventId.value).toBe("1001-0");
    expect(statuses).toEqual(["connecting", "open"]);

    expectTypeOf<Parameters<NonNullable<EventHandlers<Events>["alert"]>>[0]>().toEqualTypeOf<Alert>();
    expectTypeOf<Parameters<NonNullable<EventHandlers<Events>["metric-update"]>>[0]>().toEqualTypeOf<MetricUpdate>();
  });

  it("skips an unparsable event without losing the next ones", async () => {
    const seen: number[] = [];
    const onParseError = vi.fn();
    server.onRequest = (r) => r.accept().send({ id: "1-0", event: "n", data: "{not json" }, { id: "2-0", event: "n", data: "2" });
    const { stream } = mount<{ n: number }>(`${server.url}/events`, { on: { n: (v) => seen.push(v) }, onParseError });
    await vi.waitFor(() => expect(seen).toEqual([2]));
    expect(onParseError).toHaveBeenCalledTimes(1);
    expect(stream.lastEventId.value).toBe("2-0");
  });

  it("stays connecting (not closed) while the EventSource retries by itself, which resumes with Last-Event-ID", async () => {
    const onError = vi.fn();
    server.onRequest = (r) => {
      r.accept(150);
      if (server.requests.length === 1) {
        r.send(metricFrame("1-0"), metricFrame("2-0"));
        setTimeout(() => r.drop(), 50);
      } else {
        r.send(metricFrame("3-0"));
      }
    };
    const received: string[] = [];
    const { stream, statuses } = mount<Events>(`${server.url}/events?history=60`, {
      on: { [EVENT.metric]: (_d, m) => received.push(m.lastEventId) },
      onError,
    });

    await vi.waitFor(() => expect(onError).toHaveBeenCalled());
    // Dropped: the EventSource itself is reconnecting, so are we: "connecting", not "closed".
    expect(instances[0]!.readyState).toBe(EventSource.CONNECTING);
    expect(stream.status.value).toBe("connecting");
    expect(stream.reconnecting.value).toBe(true);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ fatal: false }));

    const second = await server.request(2);
    expect(second.lastEventIdHeader).toBe("2-0");
    expect(second.url.search).toBe("?history=60"); // the browser's own reconnect: same URL
    await vi.waitFor(() => expect(received).toEqual(["1-0", "2-0", "3-0"]));
    expect(stream.status.value).toBe("open");
    expect(stream.reconnecting.value).toBe(false);
    expect(statuses).toEqual(["connecting", "open", "connecting", "open"]);
    // No backoff of its own and no second EventSource: the drop was not fatal.
    expect(instances).toHaveLength(1);
    expect(stream.failures.value).toBe(0);
    expect(stream.nextRetryAt.value).toBeNull();
  });

  it("after a fatal error (non-200) backs off, then reconnects by hand with ?lastEventId=", async () => {
    const onError = vi.fn();
    server.onRequest = (r) => {
      const n = server.requests.length;
      if (n === 1) {
        r.accept(20).send(metricFrame("1-0"), metricFrame("2-0"));
        setTimeout(() => r.drop(), 50);
      } else if (n === 2) {
        r.reject(503); // the EventSource's own reconnect is refused: it gives up (CLOSED)
      } else {
        r.accept().send(metricFrame("3-0"));
      }
    };
    const received: string[] = [];
    const { stream, statuses } = mount<Events>(`${server.url}/events?history=60`, {
      on: { [EVENT.metric]: (_d, m) => received.push(m.lastEventId) },
      onError,
      retry: { baseMs: 200, jitter: 0.5, random: () => 0.5 },
    });

    const refused = await server.request(2);
    expect(refused.lastEventIdHeader).toBe("2-0");
    await vi.waitFor(() => expect(onError).toHaveBeenCalledWith(expect.objectContaining({ fatal: true, failures: 1 })));
    expect(instances[0]!.readyState).toBe(EventSource.CLOSED);
    expect(stream.status.value).toBe("connecting"); // we are about to retry
    expect(stream.failures.value).toBe(1);
    expect(stream.nextRetryAt.value).not.toBeNull();

    const third = await server.request(3);
    // 200 ms × (1 − 0.5 × 0.5) = 150 ms of backoff, measured between the requests.
    expect(third.at - refused.at).toBeGreaterThanOrEqual(140);
    expect(third.url.searchParams.get("lastEventId")).toBe("2-0");
    expect(third.url.searchParams.get("history")).toBe("60");
    await vi.waitFor(() => expect(received).toEqual(["1-0", "2-0", "3-0"]));
    expect(stream.status.value).toBe("open");
    expect(stream.failures.value).toBe(0);
    expect(stream.lastEventId.value).toBe("3-0");
    expect(instances).toHaveLength(2);
    expect(statuses).not.toContain("closed");
  });

  it("treats a 200 with the wrong content type as fatal too", async () => {
    server.onRequest = (r) => {
      if (server.requests.length === 1) r.reject(200, "<!doctype html><p>SPA fallback</p>", "text/html");
      else r.accept().send(metricFrame("1-0"));
    };
    const onError = vi.fn();
    const { stream } = mount<Events>(`${server.url}/events`, { on: { [EVENT.metric]: () => {} }, onError, retry: { baseMs: 10 } });
    await server.request(2);
    await vi.waitFor(() => expect(stream.lastEventId.value).toBe("1-0"));
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ fatal: true }));
    expect(instances).toHaveLength(2);
  });

  it("gives up after the retry limit, calls onGiveUp once and stops asking", async () => {
    server.onRequest = (r) => r.reject(500);
    const onGiveUp = vi.fn();
    const { stream, statuses } = mount<Events>(`${server.url}/events`, {
      on: { [EVENT.metric]: () => {} },
      onGiveUp,
      retry: { maxAttempts: 3, baseMs: 40, factor: 2, jitter: 0 },
    });
    await vi.waitFor(() => expect(onGiveUp).toHaveBeenCalled());
    expect(onGiveUp).toHaveBeenCalledWith({ failures: 4 });
    expect(server.requests).toHaveLength(4); // the first try and three retries
    // Exponential: 40, 80, 160 ms between attempts.
    const gaps = server.requests.slice(1).map((r, i) => r.at - server.requests[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(155);
    expect(stream.status.value).toBe("closed");
    expect(stream.gaveUp.value).toBe(true);
    expect(statuses.at(-1)).toBe("closed");
    await new Promise((r) => setTimeout(r, 400));
    expect(server.requests).toHaveLength(4);
    expect(onGiveUp).toHaveBeenCalledTimes(1);

    // open() starts over.
    stream.open();
    await server.request(5);
    expect(stream.gaveUp.value).toBe(false);
  });

  it("computes exponential, capped, jittered delays", () => {
    const retry = { maxAttempts: 10, baseMs: 1000, factor: 2, maxMs: 30_000, jitter: 0.5, random: () => 0 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, retry))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(backoffDelay(3, { ...retry, random: () => 1 })).toBe(2000); // at most half taken off
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(4, { ...retry, random: Math.random })));
    expect(spread.size).toBeGreaterThan(10);
    for (const d of spread) {
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });

  it("ignores whatever a replaced connection still delivers, and starts the new URL afresh", async () => {
    server.onRequest = (r) => {
      r.accept();
      r.send(metricFrame(r.url.pathname === "/a" ? "10-0" : "20-0"));
    };
    const url = ref(`${server.url}/a`);
    const received: string[] = [];
    const { stream } = mount<Events>(url, { on: { [EVENT.metric]: (_d, m) => received.push(m.lastEventId) } });
    const first = await server.request(1);
    await vi.waitFor(() => expect(stream.lastEventId.value).toBe("10-0"));

    url.value = `${server.url}/b`;
    const second = await server.request(2);
    await first.closed; // the old stream is closed on the server's side too
    expect(second.lastEventIdHeader).toBeUndefined(); // a different stream: no resume position
    expect(second.url.searchParams.has("lastEventId")).toBe(false);
    await vi.waitFor(() => expect(stream.lastEventId.value).toBe("20-0"));

    // A late event and a late error from the old EventSource change nothing.
    const old = instances[0]!;
    old.dispatchEvent(new MessageEvent(EVENT.metric, { data: JSON.stringify(sample(99)), lastEventId: "99-0" }));
    old.dispatchEvent(new Event("error"));
    await nextTick();
    expect(received).toEqual(["10-0", "20-0"]);
    expect(stream.lastEventId.value).toBe("20-0");
    expect(stream.status.value).toBe("open");
  });

  it("keeps lastEventId across reconnect() and pause()/resume()", async () => {
    let n = 0;
    server.onRequest = (r) => r.accept().send(metricFrame(`${++n}-0`));
    const { stream } = mount<Events>(`${server.url}/events`, { on: { [EVENT.metric]: () => {} } });
    const first = await server.request(1);
    await vi.waitFor(() => expect(stream.lastEventId.value).toBe("1-0"));

    stream.reconnect();
    const second = await server.request(2);
    await first.closed;
    expect(second.url.searchParams.get("lastEventId")).toBe("1-0");
    await vi.waitFor(() => expect(stream.lastEventId.value).toBe("2-0"));

    stream.pause();
    await second.closed;
    expect(stream.status.value).toBe("closed");
    expect(stream.paused.value).toBe(true);
    stream.resume();
    const third = await server.request(3);
    expect(third.url.searchParams.get("lastEventId")).toBe("2-0");
    await vi.waitFor(() => expect(stream.status.value).toBe("open"));
    expect(stream.paused.value).toBe(false);
  });

  it("closes on unmount, including a retry that was still pending", async () => {
    server.onRequest = (r) => r.accept();
    const open = mount<Events>(`${server.url}/events`, { on: { [EVENT.metric]: () => {} } });
    const request = await server.request(1);
    await vi.waitFor(() => expect(open.stream.status.value).toBe("open"));
    open.unmount();
    await request.closed;
    expect(open.stream.status.value).toBe("closed");

    server.onRequest = (r) => r.reject(500);
    const failing = mount<Events>(`${server.url}/events`, { on: { [EVENT.metric]: () => {} }, retry: { baseMs: 150, jitter: 0 } });
    await server.request(2);
    await vi.waitFor(() => expect(failing.stream.nextRetryAt.value).not.toBeNull());
    failing.unmount();
    await new Promise((r) => setTimeout(r, 300));
    expect(server.requests).toHaveLength(2);
    expect(failing.stream.status.value).toBe("closed");
  });

  describe("with resolveUrl (short-lived tickets)", () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    /** Hands out ticket t1, t2, … after a round trip, the way the dashboard's POST /api/tickets does. */
    function ticketResolver() {
      let issued = 0;
      return vi.fn(async (url: string) => {
        await sleep(20);
        return `${url}${url.includes("?") ? "&" : "?"}ticket=t${++issued}`;
      });
    }

    it("resolves before the first connect and, with a fresh value, before the reconnect after a fatal 401, which resumes from lastEventId", async () => {
      server.onRequest = (r) => {
        const n = server.requests.length;
        if (n === 1) {
          r.accept(20).send(metricFrame("1-0"), metricFrame("2-0"));
          setTimeout(() => r.drop(), 50);
        } else if (n === 2) {
          r.reject(401, JSON.stringify({ error: "ticket_expired" })); // the EventSource's own retry, old ticket
        } else {
          r.accept().send(metricFrame(`${n}-0`));
        }
      };
      const resolveUrl = ticketResolver();
      const onError = vi.fn();
      const received: string[] = [];
      const { stream, statuses } = mount<Events>(`${server.url}/events?history=60`, {
        on: { [EVENT.metric]: (_d, m) => received.push(m.lastEventId) },
        onError,
        resolveUrl,
        retry: { baseMs: 100, jitter: 0 },
      });
      // Resolving first: connecting, and nothing asked of the server yet.
      expect(resolveUrl).toHaveBeenCalledTimes(1);
      expect(resolveUrl).toHaveBeenLastCalledWith(`${server.url}/events?history=60`);
      expect(stream.status.value).toBe("connecting");
      expect(server.requests).toHaveLength(0);

      const first = await server.request(1);
      expect(first.url.searchParams.get("ticket")).toBe("t1");
      // The EventSource's own retry keeps its URL (and ticket): no resolve for it.
      const retried = await server.request(2);
      expect(retried.url.search).toBe("?history=60&ticket=t1");
      expect(retried.lastEventIdHeader).toBe("2-0");
      expect(resolveUrl).toHaveBeenCalledTimes(1);

      // Refused (401: fatal) → backoff → a fresh resolve, from the last event id.
      const third = await server.request(3);
      expect(onError).toHaveBeenCalledWith(expect.objectContaining({ fatal: true, failures: 1, error: undefined }));
      expect(resolveUrl).toHaveBeenCalledTimes(2);
      expect(resolveUrl).toHaveBeenLastCalledWith(`${server.url}/events?history=60&lastEventId=2-0`);
      expect(third.url.searchParams.getAll("ticket")).toEqual(["t2"]);
      expect(third.url.searchParams.get("lastEventId")).toBe("2-0");
      expect(third.at - retried.at).toBeGreaterThanOrEqual(100 + 15);
      await vi.waitFor(() => expect(received).toEqual(["1-0", "2-0", "3-0"]));
      expect(stream.status.value).toBe("open");
      expect(stream.failures.value).toBe(0);
      expect(statuses).not.toContain("closed");

      // reconnect() and resume() resolve again too.
      stream.reconnect();
      const fourth = await server.request(4);
      expect(fourth.url.search).toBe("?history=60&lastEventId=3-0&ticket=t3");
      await vi.waitFor(() => expect(received.at(-1)).toBe("4-0"));
      stream.pause();
      stream.resume();
      const fifth = await server.request(5);
      expect(fifth.url.search).toBe("?history=60&lastEventId=4-0&ticket=t4");
      expect(resolveUrl).toHaveBeenCalledTimes(4);
      expect(instances).toHaveLength(4);
    });

    it("counts a failing resolveUrl as a fatal failure: backs off, reports the error, gives up", async () => {
      const failure = new Error("ticket service unavailable");
      const calls: number[] = [];
      const resolveUrl = vi.fn((_url: string): string | Promise<string> => {
        calls.push(Date.now());
        if (calls.length === 1) throw failure; // a synchronous throw…
        return Promise.reject(failure); // …and a rejection fail alike
      });
      const onError = vi.fn();
      const onGiveUp = vi.fn();
      const { stream } = mount<Events>(`${server.url}/events`, {
        on: { [EVENT.metric]: () => {} },
        resolveUrl,
        onError,
        onGiveUp,
        retry: { maxAttempts: 2, baseMs: 40, factor: 2, jitter: 0 },
      });
      await vi.waitFor(() => expect(onGiveUp).toHaveBeenCalled());
      expect(onGiveUp).toHaveBeenCalledWith({ failures: 3 });
      expect(calls).toHaveLength(3); // the first try and two retries, 40 then 80 ms apart
      expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(35);
      expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(75);
      expect(onError.mock.calls.map(([info]) => [info.fatal, info.failures, info.error])).toEqual([
        [true, 1, failure],
        [true, 2, failure],
        [true, 3, failure],
      ]);
      expect(onError.mock.calls[0]![0].event).toBeInstanceOf(Event);
      expect(server.requests).toHaveLength(0);
      expect(stream.status.value).toBe("closed");
      expect(stream.gaveUp.value).toBe(true);
      await sleep(200);
      expect(calls).toHaveLength(3);

      // Once it works again, open() starts over.
      resolveUrl.mockImplementation((url) => url);
      stream.open();
      await server.request(1);
      await vi.waitFor(() => expect(stream.status.value).toBe("open"));
      expect(stream.failures.value).toBe(0);
      expect(stream.gaveUp.value).toBe(false);
    });

    it("drops a resolve overtaken by a URL change or by close(), and never resolves twice at once", async () => {
      server.onRequest = (r) => r.accept().send(metricFrame(r.url.pathname === "/a" ? "10-0" : "20-0"));
      /** The resolves in flight, by path: the test finishes them by hand. */
      const pending: { path: string; finish: () => void }[] = [];
      const resolveUrl = vi.fn(
        (url: string) =>
          new Promise<string>((resolve) => {
            const path = new URL(url).pathname;
            pending.push({ path, finish: () => resolve(`${url}${url.includes("?") ? "&" : "?"}ticket=${path.slice(1)}`) });
          }),
      );
      const url = ref(`${server.url}/a`);
      const { stream } = mount<Events>(url, { on: { [EVENT.metric]: () => {} }, resolveUrl });
      expect(pending.map((p) => p.path)).toEqual(["/a"]);

      url.value = `${server.url}/b`;
      await nextTick();
      expect(pending.map((p) => p.path)).toEqual(["/a", "/b"]);
      pending[1]!.finish();
      const first = await server.request(1);
      expect(first.url.pathname + first.url.search).toBe("/b?ticket=b");
      await vi.waitFor(() => expect(stream.lastEventId.value).toBe("20-0"));

      // /a's resolve finishes late: nothing opens, nothing changes.
      pending[0]!.finish();
      await sleep(100);
      expect(server.requests).toHaveLength(1);
      expect(instances).toHaveLength(1);
      expect(stream.lastEventId.value).toBe("20-0");
      expect(stream.status.value).toBe("open");

      // A resolve that finishes just as the URL changes, before the URL watcher has run.
      stream.reconnect();
      await first.closed;
      expect(pending).toHaveLength(3);
      pending[2]!.finish();
      await Promise.resolve(); // its result is now one microtask away, the watcher two
      url.value = `${server.url}/a`;
      await nextTick();
      expect(instances).toHaveLength(1); // no EventSource for /b, not even briefly
      expect(pending.map((p) => p.path)).toEqual(["/a", "/b", "/b", "/a"]);
      pending[3]!.finish();
      const second = await server.request(2);
      expect(second.url.pathname + second.url.search).toBe("/a?ticket=a"); // a new stream: no lastEventId
      await sleep(100);
      expect(server.requests.map((r) => r.url.pathname)).toEqual(["/b", "/a"]);

      // close() while resolving: the result is dropped. open() twice while resolving: one resolve.
      await vi.waitFor(() => expect(stream.status.value).toBe("open"));
      stream.reconnect();
      stream.close();
      expect(stream.status.value).toBe("closed");
      pending[4]!.finish();
      stream.open();
      stream.open();
      expect(pending).toHaveLength(6);
      await sleep(100);
      expect(server.requests).toHaveLength(2);
      expect(stream.status.value).toBe("connecting");
      pending[5]!.finish();
      const third = await server.request(3);
      expect(third.url.search).toBe("?lastEventId=10-0&ticket=a");
      await vi.waitFor(() => expect(stream.status.value).toBe("open"));
    });
  });

  // The dashboard's own use of pauseWhenHidden (its 5-minute grace, the stream closed on the
  // server and resumed from lastEventId) is checked in Chromium: test/browser/dashboard.test.ts.
  describe("with a document and a window (happy-dom)", () => {
    function page() {
      const win = new Window();
      let hidden = false;
      Object.defineProperty(win.document, "hidden", { configurable: true, get: () => hidden });
      return {
        win,
        setHidden(value: boolean) {
          hidden = value;
          win.document.dispatchEvent(new win.Event("visibilitychange"));
        },
      };
    }

    it("pauses while the document is hidden and resumes from lastEventId", async () => {
      const { win, setHidden } = page();
      let n = 0;
      server.onRequest = (r) => r.accept().send(metricFrame(`${++n}-0`));
      const { stream } = mount<Events>(`${server.url}/events`, {
        on: { [EVENT.metric]: () => {} },
        pauseWhenHidden: true,
        document: win.document,
      });
      const first = await server.request(1);
      await vi.waitFor(() => expect(stream.lastEventId.value).toBe("1-0"));

      setHidden(true);
      await first.closed;
      await vi.waitFor(() => expect(stream.paused.value).toBe(true));
      expect(stream.status.value).toBe("closed");

      setHidden(false);
      const second = await server.request(2);
      expect(second.url.searchParams.get("lastEventId")).toBe("1-0");
      await vi.waitFor(() => expect(stream.status.value).toBe("open"));
      expect(stream.paused.value).toBe(false);
      await win.happyDOM.close();
    });

    it("stays connected through a hidden spell shorter than hiddenGraceMs", async () => {
      const { win, setHidden } = page();
      server.onRequest = (r) => r.accept();
      const { stream } = mount<Events>(`${server.url}/events`, {
        on: { [EVENT.metric]: () => {} },
        pauseWhenHidden: true,
        hiddenGraceMs: 300,
        document: win.document,
      });
      const first = await server.request(1);
      setHidden(true);
      await new Promise((r) => setTimeout(r, 100));
      setHidden(false);
      await new Promise((r) => setTimeout(r, 400));
      expect(first.open).toBe(true);
      expect(server.requests).toHaveLength(1);
      expect(stream.paused.value).toBe(false);
      await win.happyDOM.close();
    });

    it("closes on pagehide and resumes on a bfcache pageshow", async () => {
      const { win } = page();
      let n = 0;
      server.onRequest = (r) => r.accept().send(metricFrame(`${++n}-0`));
      const { stream } = mount<Events>(`${server.url}/events`, { on: { [EVENT.metric]: () => {} }, window: win });
      const first = await server.request(1);
      await vi.waitFor(() => expect(stream.lastEventId.value).toBe("1-0"));

      win.dispatchEvent(new win.Event("pagehide"));
      await first.closed;
      expect(stream.status.value).toBe("closed");

      const show = new win.Event("pageshow");
      Object.defineProperty(show, "persisted", { value: true });
      win.dispatchEvent(show);
      const second = await server.request(2);
      expect(second.url.searchParams.get("lastEventId")).toBe("1-0");
      await vi.waitFor(() => expect(stream.status.value).toBe("open"));
      await win.happyDOM.close();
    });
  });
});

// The feed's "sent to" marks (useNotifications) against a real HTTP server playing the Worker's
// GET /api/dashboards/:id/notifications: one request for a burst of alerts, again while one is
// pending, never again for a dashboard without channels, and the viewer's credential sent along.
import { createServer, type Server } from "node:http";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { effectScope, nextTick, ref, shallowRef } from "vue";
import type { ChannelStatus, NotificationsAnswer } from "../../contract/index.ts";
import { useNotifications } from "../../web/src/composables/useNotifications.ts";

let server: Server;
const asked: { url: string; authorization?: string }[] = [];
const answers = new Map<string, NotificationsAnswer>();

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push({ url: req.url ?? "", authorization: req.headers.authorization });
    const id = /^\/api\/dashboards\/([\w-]+)\/notifications$/.exec(req.url ?? "")?.[1];
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(answers.get(id ?? "") ?? { channels: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const realFetch = globalThis.fetch;
  vi.stubGlobal("fetch", (input: string, init?: RequestInit) => realFetch(new URL(input, origin), init));
});
afterAll(async () => {
  vi.unstubAllGlobals();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  asked.length = 0;
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
});
afterEach(() => vi.useRealTimers());

const status = (name: string, alerts: ChannelStatus["alerts"]): ChannelStatus => ({
  name,
  type: "slack",
  delivered: 0,
  pending: 0,
  failed: 0,
  dropped: 0,
  lastAttempt: null,
  lastSuccess: null,
  lastError: null,
  nextAttempt: null,
  alerts,
});

/** The composable in its own scope, with refs the test moves; the requests it has made so far. */
function mount(dashboard: string, authorization?: string) {
  const scope = effectScope();
  const id = ref<string | null>(dashboard);
  const alerts = shallowRef<{ id: string }[]>([]);
  const sent = scope.run(() => useNotifications(id, alerts, () => authorization))!;
  /** Alerts arrive, newest first, as the feed holds them. */
  const arrive = async (...ids: string[]) => {
    alerts.value = [...ids.reverse().map((i) => ({ id: i })), ...alerts.value];
    await nextTick();
  };
  return { id, sent, arrive, stop: () => scope.stop() };
}

describe("useNotifications", () => {
  it("asks once per burst, maps each alert to its channels, and asks again while one is pending", async () => {
    answers.set("shop", {
      channels: [status("ops", { "1-1": "sent", "1-2": "pending" }), status("oncall", { "1-1": "failed" })],
    });
    const view = mount("shop", "Bearer viewer-token");
    // A burst: alerts half a second apart are one request, a second after the last.
    await view.arrive("1-1");
    await vi.advanceTimersByTimeAsync(500);
    await view.arrive("1-2");
    await vi.advanceTimersByTimeAsync(500);
    expect(asked).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    await vi.waitFor(() => expect(view.sent.value["1-1"]).toBeDefined());
    expect(asked).toEqual([{ url: "/api/dashboards/shop/notifications", authorization: "Bearer viewer-token" }]);
    expect(view.sent.value).toEqual({
      "1-1": [
        { name: "ops", state: "sent" },
        { name: "oncall", state: "failed" },
      ],
      "1-2": [{ name: "ops", state: "pending" }],
    });
    // "1-2" is pending: asked again 10 s later, and then no more once it was sent.
    answers.set("shop", { channels: [status("ops", { "1-1": "sent", "1-2": "sent" }), status("oncall", { "1-1": "failed" })] });
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.waitFor(() => expect(view.sent.value["1-2"]).toEqual([{ name: "ops", state: "sent" }]));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(asked).toHaveLength(2);
    view.stop();
  });

  it("asks a dashboard without channels once, then never again, and leaves the feed as it was", async () => {
    answers.delete("plain");
    const view = mount("plain");
    await view.arrive("2-1");
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.waitFor(() => expect(asked).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(10); // the answer is in
    for (let i = 2; i < 6; i++) {
      await view.arrive(`2-${i}`);
      await vi.advanceTimersByTimeAsync(11_000);
    }
    expect(asked).toHaveLength(1);
    expect(view.sent.value).toEqual({});
    // Another dashboard is asked afresh.
    answers.set("shop2", { channels: [status("ops", { "3-1": "sent" })] });
    view.id.value = "shop2";
    await nextTick();
    await view.arrive("3-1");
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.waitFor(() => expect(view.sent.value).toEqual({ "3-1": [{ name: "ops", state: "sent" }] }));
    expect(asked.map((a) => a.url)).toEqual(["/api/dashboards/plain/notifications", "/api/dashboards/shop2/notifications"]);
    view.stop();
  });
});

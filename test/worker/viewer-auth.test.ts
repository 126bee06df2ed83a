import { env, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ApiError, ClientConfig, Ticket } from "../../contract/index.ts";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import { app } from "../../worker/app.ts";
import { constantTimeEqual } from "../../worker/middleware/auth.ts";
import { checkTicket, issueTicket } from "../../worker/tickets.ts";
import type { Config } from "../../core/config/index.ts";
import { openStream, publishMany, stub } from "./helpers.ts";

const SECRET = "viewer-secret-0123456789abcdef";
const VIEWER = "viewer-token-0123456789";
// The same Worker with viewer auth switched on (config is read per env object).
const secured = { ...env, VIEWER_SECRET: SECRET, VIEWER_TOKEN: VIEWER };
const request = (path: string, init?: RequestInit) => app.request(`https://dash.test${path}`, init, secured);

async function ticketFor(dashboard: string, token = VIEWER) {
  return request("/api/tickets", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ dashboard }),
  });
}

async function errorOf(response: Response): Promise<[number, string]> {
  return [response.status, ((await response.json()) as ApiError).error];
}

afterEach(() => vi.restoreAllMocks());

describe("viewers when VIEWER_SECRET is not configured (local dev default)", () => {
  it("need no ticket", async () => {
    expect(await (await SELF.fetch("https://dash.test/api/config")).json()).toEqual({
      viewerAuth: "none",
      ticketTtlSeconds: 60,
    } satisfies ClientConfig);
    expect(await errorOf(await SELF.fetch("https://dash.test/api/tickets", { method: "POST" }))).toEqual([404, "viewer_auth_disabled"]);
    const stream = await openStream("/api/dashboards/t28/events?history=0");
    expect(stream.response.status).toBe(200);
    await stream.close();
  });
});

describe("viewers when VIEWER_SECRET is configured", () => {
  it("tell clients that tickets are needed", async () => {
    expect(await (await request("/api/config")).json()).toEqual({ viewerAuth: "ticket", ticketTtlSeconds: 60 });
  });

  it("trade the viewer token for a ticket that opens that dashboard's stream", async () => {
    const response = await ticketFor("t29");
    expect(response.status).toBe(201);
    const { ticket, expiresAt } = (await response.json()) as Ticket;
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    const ids = await publishMany("t29", 2);
    const stream = await request(`/api/dashboards/t29/events?ticket=${encodeURIComponent(ticket)}`);
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const text = await readUntil(stream, ids[1]!);
    expect(text).toContain(`id: ${ids[0]}`);
    // A reconnect within the ticket's lifetime works with the same ticket.
    const again = await request(`/api/dashboards/t29/events?ticket=${encodeURIComponent(ticket)}`, {
      headers: { "Last-Event-ID": ids[0]! },
    });
    expect(again.status).toBe(200);
    await again.body!.cancel();
  });

  it("refuse streams without a valid ticket: missing, forged, expired, for another dashboard", async () => {
    const { ticket } = (await (await ticketFor("t29")).json()) as Ticket;
    const [body, sig] = ticket.split(".") as [string, string];
    const forgedPayload = btoa(JSON.stringify({ d: "t29", exp: Date.now() + 600_000, n: "x" })).replace(/=+$/, "");
    const expired = (await issueTicket(SECRET, "t29", Date.now() - 61_000)).ticket;
    const otherKey = (await issueTicket("another-secret-0123456789", "t29")).ticket;
    const cases: [string, string][] = [
      ["", "ticket_required"],
      [`?ticket=${encodeURIComponent(`${forgedPayload}.${sig}`)}`, "invalid_ticket"],
      [`?ticket=${encodeURIComponent(`${body}.${sig.slice(0, -2)}AA`)}`, "invalid_ticket"],
      [`?ticket=${encodeURIComponent(otherKey)}`, "invalid_ticket"],
      [`?ticket=${encodeURIComponent(expired)}`, "ticket_expired"],
      ["?ticket=garbage", "invalid_ticket"],
      [`?ticket=${"a".repeat(600)}`, "invalid_ticket"],
      [`?ticket=${encodeURIComponent(`${ticket}.x`)}`, "invalid_ticket"],
    ];
    for (const [query, error] of cases) {
      expect(await errorOf(await request(`/api/dashboards/t29/events${query}`)), query).toEqual([401, error]);
    }
    expect(await errorOf(await request(`/api/dashboards/t30/events?ticket=${encodeURIComponent(ticket)}`))).toEqual([
      401,
      "ticket_wrong_dashboard",
    ]);
  });

  it("issue tickets only for the right token and an existing dashboard", async () => {
    expect(await errorOf(await ticketFor("t29", "wrong-token-0123456789"))).toEqual([401, "unauthorized"]);
    expect(await errorOf(await request("/api/tickets", { method: "POST", body: "{}" }))).toEqual([401, "unauthorized"]);
    expect(await errorOf(await ticketFor("nope"))).toEqual([404, "dashboard_not_found"]);
    expect(await errorOf(await ticketFor("Not An Id"))).toEqual([400, "invalid_body"]);
    expect(await errorOf(await request("/api/dashboards/t29/stats"))).toEqual([401, "unauthorized"]);
    expect((await request("/api/dashboards/t29/stats", { headers: { Authorization: `Bearer ${VIEWER}` } })).status).toBe(200);
  });

  it("never write a ticket to the logs", async () => {
    const logged: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    }
    const { ticket } = (await (await ticketFor("t29")).json()) as Ticket;
    const tampered = `${ticket.slice(0, -3)}abc`;
    await request(`/api/dashboards/t29/events?ticket=${encodeURIComponent(tampered)}`);
    await request(`/api/dashboards/t30/events?ticket=${encodeURIComponent(ticket)}`);
    const ok = await request(`/api/dashboards/t29/events?ticket=${encodeURIComponent(ticket)}&history=0`);
    await ok.body!.cancel();
    expect(logged.join("\n")).not.toContain(ticket.split(".")[1]!);
  });
});

describe("tickets and token comparison", () => {
  it("verifies its own tickets and nothing else", async () => {
    const { ticket } = await issueTicket(SECRET, "demo");
    expect(await checkTicket(SECRET, ticket, "demo")).toEqual({ ok: true });
    expect((await checkTicket(SECRET, ticket, "demo", Date.now() + 61_000)).ok).toBe(false);
    expect((await checkTicket(`${SECRET}x`, ticket, "demo")).ok).toBe(false);
  });

  it("compares tokens in constant time: always two SHA-256 digests, whatever the inputs", async () => {
    const spy = vi.spyOn(crypto.subtle, "timingSafeEqual");
    const inputs: [string, string][] = [
      ["same-token", "same-token"],
      ["same-token", "Xame-token"],
      ["same-token", "same-tokeX"],
      ["short", "a-much-longer-token-than-the-other"],
      ["", "x"],
    ];
    const results = [];
    for (const [a, b] of inputs) results.push(await constantTimeEqual(a, b));
    expect(results).toEqual([true, false, false, false, false]);
    expect(spy).toHaveBeenCalledTimes(inputs.length);
    for (const [a, b] of spy.mock.calls) {
      expect((a as ArrayBuffer).byteLength).toBe(32);
      expect((b as ArrayBuffer).byteLength).toBe(32);
    }
  });
});

describe("edges", () => {
  it("CORS: configured origins get Access-Control-Allow-Origin, others get nothing; preflights answered", async () => {
    const preflight = await SELF.fetch("https://dash.test/api/dashboards/demo/metrics", {
      method: "OPTIONS",
      headers: {
        Origin: "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const foreign = await SELF.fetch("https://dash.test/api/dashboards", { headers: { Origin: "https://evil.example" } });
    expect(foreign.status).toBe(200);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    const foreignPreflight = await SELF.fetch("https://dash.test/api/dashboards", {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "GET" },
    });
    expect(foreignPreflight.headers.get("access-control-allow-origin")).toBeNull();
    const allowed = await SELF.fetch("https://dash.test/api/dashboards", { headers: { Origin: "http://127.0.0.1:5173" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:5173");
    expect(allowed.headers.get("vary")).toContain("Origin");
  });

  it("caps streams per dashboard with a 503 and Retry-After, leaving existing viewers alone", async () => {
    await runInDurableObject(stub("t31"), (obj: DashboardObject) => {
      const o = obj as unknown as { config: Config };
      o.config = { ...o.config, maxStreamsPerDashboard: 2 };
    });
    const a = await openStream("/api/dashboards/t31/events?history=0");
    const b = await openStream("/api/dashboards/t31/events?history=0");
    const refused = await SELF.fetch("https://dash.test/api/dashboards/t31/events?history=0");
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(10);
    expect(((await refused.json()) as ApiError).error).toBe("too_many_streams");
    const ids = await publishMany("t31", 2);
    for (const s of [a, b]) expect((await s.waitFor(2)).map((e) => e.id)).toEqual(ids);
    await Promise.all([a.close(), b.close()]);
  });

  it("refuses over-long URLs with 414", async () => {
    const response = await SELF.fetch(`https://dash.test/api/dashboards/demo/events?metrics=${"cpu,".repeat(600)}cpu`);
    expect(await errorOf(response)).toEqual([414, "uri_too_long"]);
  });
});

async function readUntil(response: Response, id: string): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes(`id: ${id}\n`)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

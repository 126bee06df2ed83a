import { runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ApiError, Dashboard, DashboardStats, Health } from "../../contract/index.ts";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import { getJson, openStream, publish, publishMany, sample, sleep, streamOf, stub } from "./helpers.ts";

describe("JSON API", () => {
  it("lists the dashboards, demo among them", async () => {
    const { status, body } = await getJson<Dashboard[]>("/api/dashboards");
    expect(status).toBe(200);
    expect(body).toContainEqual({ id: "demo", name: "Demo" });
    for (const d of body) expect(Object.keys(d).sort()).toEqual(["id", "name"]);
  });

  it("reports health with the event log's state", async () => {
    const { status, body } = await getJson<Health>("/api/health");
    expect(status).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.eventLog.status).toBe("ok");
    expect(["durable-object-sqlite", "upstash-redis"]).toContain(body.eventLog.backend);
  });

  it("counts clients, published and delivered events in stats", async () => {
    const stream = await openStream("/api/dashboards/t16/events?history=0");
    const ids = await publishMany("t16", 3);
    await stream.waitFor(3);
    const { status, body } = await getJson<DashboardStats>("/api/dashboards/t16/stats");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      dashboard: "t16",
      connectedClients: 1,
      lastEventId: ids[2],
      eventsPublished: 3,
      eventsDelivered: 3,
      retentionSeconds: 3600,
    });
    expect(Date.parse(body.lastEventTime!)).toBe(Number(ids[2]!.split("-")[0]));
    await stream.close();
  });

  it.each([
    ["/api/dashboards/Demo/events", 400, "invalid_dashboard_id"],
    ["/api/dashboards/-demo/events", 400, "invalid_dashboard_id"],
    [`/api/dashboards/${"a".repeat(64)}/events`, 400, "invalid_dashboard_id"],
    ["/api/dashboards/de%0Amo/stats", 400, "invalid_dashboard_id"],
    ["/api/dashboards/nope/events", 404, "dashboard_not_found"],
    ["/api/dashboards/nope/stats", 404, "dashboard_not_found"],
    ["/api/dashboards/demo/events?metrics=cpu,disk", 400, "invalid_query"],
    ["/api/dashboards/demo/events?metrics=", 400, "invalid_query"],
    ["/api/dashboards/demo/events?metrics=,,", 400, "invalid_query"],
    ["/api/dashboards/demo/events?history=abc", 400, "invalid_query"],
    ["/api/dashboards/demo/events?history=-5", 400, "invalid_query"],
    ["/api/dashboards/demo/events?history=1.5", 400, "invalid_query"],
    ["/api/nothing", 404, "not_found"],
    ["/", 404, "not_found"],
  ])("GET %s → %i %s with a JSON body", async (path, status, error) => {
    const response = await SELF.fetch(`https://dash.test${path}`);
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await response.json()) as ApiError;
    expect(body.error).toBe(error);
    expect(body.message.length).toBeGreaterThan(10);
  });

  it("names the unknown metric in the error", async () => {
    const { body } = await getJson<ApiError>("/api/dashboards/demo/events?metrics=cpu,disk");
    expect(body.message).toContain('"disk"');
    expect(body.message).toContain("cpu, memory, rps, activeConnections, errorRate");
  });
});

describe("?metrics= filter", () => {
  it("sends only the chosen fields, and only alerts about them", async () => {
    const stream = await openStream("/api/dashboards/t17/events?history=0&metrics=memory,cpu");
    const hotCpu = sample({ cpu: 95, errorRate: 7.5 }); // critical cpu and error-rate alerts
    const ids = await publish("t17", hotCpu);
    expect(ids).toHaveLength(3);
    // A calm sample resolves both alerts; again only the cpu one reaches this viewer.
    const calm = await publish("t17", sample());
    expect(calm).toHaveLength(3);
    const events = await stream.waitFor(4);
    expect(events.map((e) => [e.id, e.event])).toEqual([
      [ids[0], "metric-update"],
      [ids[1], "alert"],
      [calm[0], "metric-update"],
      [calm[1], "alert"],
    ]);
    expect(events[0]!.data).toBe(JSON.stringify({ cpu: 95, memory: hotCpu.memory, timestamp: hotCpu.timestamp }));
    expect(JSON.parse(events[1]!.data)).toMatchObject({ metric: "cpu", level: "critical" });
    expect(JSON.parse(events[3]!.data)).toMatchObject({ metric: "cpu", level: "resolved" });
    await sleep(50);
    expect(stream.events).toHaveLength(4); // neither error-rate alert arrived
    await stream.close();
  });

  it("applies to history and resume as well", async () => {
    const ids = await publishMany("t18", 3);
    const stream = await openStream(`/api/dashboards/t18/events?metrics=rps`, { "Last-Event-ID": ids[0]! });
    const events = await stream.waitFor(2);
    expect(events.map((e) => e.id)).toEqual(ids.slice(1));
    for (const e of events) expect(Object.keys(JSON.parse(e.data))).toEqual(["rps", "timestamp"]);
    await stream.close();
  });
});

describe("history", () => {
  it("sends the events of the last `history` seconds, then live ones", async () => {
    const old = await publishMany("t19", 2);
    await sleep(1100);
    const recent = await publishMany("t19", 2);
    const short = await openStream("/api/dashboards/t19/events?history=1");
    expect((await short.waitFor(2)).map((e) => e.id)).toEqual(recent);
    const long = await openStream("/api/dashboards/t19/events?history=60");
    expect((await long.waitFor(4)).map((e) => e.id)).toEqual([...old, ...recent]);
    const none = await openStream("/api/dashboards/t19/events?history=0");
    const live = await publishMany("t19", 1);
    expect((await none.waitFor(1)).map((e) => e.id)).toEqual(live);
    expect((await short.waitFor(3)).map((e) => e.id)).toEqual([...recent, ...live]);
    await Promise.all([short.close(), long.close(), none.close()]);
  });

  it("history=0 sends nothing old, not even an event from the same millisecond", async () => {
    // Inside the object the clock stands still until I/O, so (with the log in the object's own
    // storage) the publish and the connect below happen in the same millisecond, as they can under load.
    const { before, response } = await runInDurableObject(stub("t33"), async (obj: DashboardObject) => {
      const published = await obj.publish({ samples: [sample()] });
      await (obj as unknown as { chain: Promise<void> }).chain; // committed, with a remote log too
      const res = await obj.openStream({ filter: null, historySeconds: 0, resumeId: null });
      return { before: published.ids, response: res };
    });
    const stream = await streamOf(response);
    const live = await publishMany("t33", 1);
    expect((await stream.waitFor(1)).map((e) => e.id)).toEqual(live);
    expect(live).not.toEqual(before);
    await stream.close();
  });

  it("defaults to 60 seconds and clamps to retention", async () => {
    const ids = await publishMany("t20", 2);
    const plain = await openStream("/api/dashboards/t20/events");
    expect((await plain.waitFor(2)).map((e) => e.id)).toEqual(ids);
    const huge = await openStream("/api/dashboards/t20/events?history=999999999");
    expect((await huge.waitFor(2)).map((e) => e.id)).toEqual(ids);
    await Promise.all([plain.close(), huge.close()]);
  });
});

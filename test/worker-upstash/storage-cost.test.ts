// With the Upstash log the events live in Redis: the object's own SQLite is written for the
// history buckets about once a minute, and for the outbox only while Upstash fails. Steady
// state: at most 0.1 SQLite rows per sample (the event itself is one Redis command; the e2e test
// and the benchmark count those).
import { describe, expect, it } from "vitest";
import type { DashboardStats } from "../../contract/index.ts";
import { committed, getJson, stub } from "../worker/helpers.ts";

const written = async (id: string) => (await getJson<DashboardStats>(`/api/dashboards/${id}/stats`)).body.storage.rowsWritten;

describe("storage cost on the Upstash log", () => {
  it("a sample costs at most 0.1 SQLite rows; the outbox stays empty while Upstash answers", async () => {
    const end = Math.floor(Date.now() / 1000) * 1000;
    const sample = (i: number) => ({
      cpu: 40,
      memory: 60,
      rps: i,
      activeConnections: 3,
      errorRate: 0.1,
      timestamp: new Date(end - (300 - i) * 1000).toISOString(),
    });
    await stub("w5").publish({ samples: [sample(0)] }); // tables created
    const before = await written("w5");
    for (let i = 1; i <= 300; i++) await stub("w5").publish({ samples: [sample(i)] });
    await committed("w5");
    expect(((await written("w5")) - before) / 300).toBeLessThanOrEqual(0.1);
  });
});

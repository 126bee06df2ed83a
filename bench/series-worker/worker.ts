// Benchmark only (bench/series.ts). The product's Worker, unchanged, with two extra routes:
// POST /bench/seed?day=k fills one day of 1 Hz samples of the seed's five metrics into the
// dashboard object's buckets via Rollups.add (the commit path's own code), and
// GET /bench/time?path=…&n=… times n requests to the product's route from inside workerd, and
// GET /bench/query-cost?… the object's own share of one answer.
import { DEFAULT_METRICS, type SeriesStep } from "../../contract/index.ts";
import { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import type { RollupInput, Rollups } from "../../durable-objects/history/rollups.ts";
import { app } from "../../worker/app.ts";

export { RelayObject } from "../../durable-objects/relay/relay.ts";

const DAY_S = 86_400;
const CHUNK_S = 3600;

export class BenchDashboardObject extends DashboardObject {
  /** Day `day` (0 = the oldest) of `days`, ending at `endMs`: 86,400 samples, one add per hour. */
  async seedDay(day: number, days: number, endMs: number): Promise<{ samples: number; ms: number }> {
    const rollups = (this as unknown as { feed: { rollups: Rollups } }).feed.rollups;
    const start = endMs - (days - day) * DAY_S * 1000;
    let rnd = 0x9e3779b9 ^ day; // xorshift: the same week every run
    const next = () => ((rnd ^= rnd << 13), (rnd ^= rnd >>> 17), (rnd ^= rnd << 5), (rnd >>> 0) / 4294967296);
    const began = Date.now();
    for (let s = 0; s < DAY_S; s += CHUNK_S) {
      const batch: RollupInput[] = [];
      for (let i = s; i < s + CHUNK_S; i++) {
        const ms = start + i * 1000;
        const wave = Math.sin((ms / 86_400_000) * 2 * Math.PI);
        const payload = {
          cpu: Math.round((45 + 25 * wave + 10 * next()) * 10) / 10,
          memory: Math.round((60 + 5 * wave + 2 * next()) * 10) / 10,
          rps: Math.round(1500 + 800 * wave + 200 * next()),
          activeConnections: Math.round(200 + 80 * wave + 20 * next()),
          errorRate: Math.round((0.5 + 0.4 * next()) * 100) / 100,
          timestamp: new Date(ms).toISOString(),
        };
        batch.push({ id: `${ms}-0`, key: { ms, seq: 0 }, event: "metric-update", data: "", payload });
      }
      rollups.add(batch);
    }
    return { samples: DAY_S, ms: Date.now() - began };
  }

  /**
   * The object's own work for one answer (Rollups.queryJson), averaged over n runs: workerd's
   * clock only moves across I/O, so it is read before the runs and after a timer that follows them.
   */
  async queryCost(from: number, to: number, step: SeriesStep, n: number): Promise<number> {
    const rollups = (this as unknown as { feed: { rollups: Rollups } }).feed.rollups;
    const defs = DEFAULT_METRICS.map(({ name, decimals }) => ({ name, decimals }));
    await new Promise((r) => setTimeout(r, 1));
    const t0 = Date.now();
    for (let i = 0; i < n; i++) rollups.queryJson(defs, from, to, step);
    await new Promise((r) => setTimeout(r, 0));
    return (Date.now() - t0) / n;
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/bench/seed") {
      const stub = env.DASHBOARD.getByName("bench") as unknown as DurableObjectStub<BenchDashboardObject>;
      const q = (k: string) => Number(url.searchParams.get(k));
      return Response.json(await stub.seedDay(q("day"), q("days"), q("end")));
    }
    if (url.pathname === "/bench/query-cost") {
      const stub = env.DASHBOARD.getByName("bench") as unknown as DurableObjectStub<BenchDashboardObject>;
      const q = (k: string) => Number(url.searchParams.get(k));
      return Response.json(await stub.queryCost(q("from"), q("to"), url.searchParams.get("step") as SeriesStep, q("n")));
    }
    if (url.pathname === "/bench/time") {
      // Worker route → object → answer, as workerd's own clock sees it (it advances across I/O).
      const target = new URL(url.searchParams.get("path")!, url.origin);
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < Number(url.searchParams.get("n")); i++) {
        const t0 = performance.now();
        const response = await app.fetch(new Request(target), env, ctx);
        bytes = (await response.text()).length;
        times.push(performance.now() - t0);
      }
      return Response.json({ times, bytes });
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

// Benchmark only (bench/cost.ts). The product's Worker and objects, unchanged, with two extra
// routes: POST /bench/check-runs?dashboard=&check=&n= records n successful runs of a check
// through the dashboard object's recordCheck (the cron's own call), each one interval after the
// last, and GET /bench/layout?dashboard= counts the event log's chunks and events (what trimming
// deletes in steady state).
import { readConfig } from "../../core/config/index.ts";
import { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import { app } from "../../worker/app.ts";

export { RelayObject } from "../../durable-objects/relay/relay.ts";

export class CostDashboardObject extends DashboardObject {
  async layout(): Promise<{ chunks: number; events: number }> {
    const [row] = this.ctx.storage.sql
      .exec<{ chunks: number; events: number }>(
        "SELECT COUNT(*) AS chunks, COALESCE(SUM(length(body) - length(replace(body, char(10), '')) + 1), 0) AS events FROM event_chunks",
      )
      .toArray();
    return row ?? { chunks: 0, events: 0 };
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const dashboard = url.searchParams.get("dashboard")!;
    const stub = env.DASHBOARD.getByName(dashboard) as unknown as DurableObjectStub<CostDashboardObject>;
    if (url.pathname === "/bench/layout") return Response.json(await stub.layout());
    if (url.pathname === "/bench/check-runs") {
      const name = url.searchParams.get("check")!;
      const check = readConfig(env)
        .dashboards.find((d) => d.id === dashboard)!
        .checks.find((c) => c.name === name)!;
      const start = Date.now();
      const n = Number(url.searchParams.get("n"));
      for (let i = 0; i < n; i++) {
        const at = start + i * check.intervalSeconds * 1000;
        await stub.recordCheck({ name, run: { ok: true, latencyMs: 20 + (i % 7), statusCode: 200, at } });
      }
      return Response.json({ runs: n });
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

// The health panel's state, one entry per check the definition lists: its last known state
// (GET /api/dashboards/:id/checks once per dashboard, so a check that runs every 30 s shows
// something at once) and the runs the stream brings (`health` events, history included), from
// which the latency sparkline and the uptime over the chart window are drawn.
import { computed, shallowRef, toValue, watch, type ComputedRef, type MaybeRefOrGetter, type ShallowRef } from "vue";
import type { CheckState, DashboardDef, HealthEvent } from "../../../contract/index.ts";
import { fetchChecks } from "../lib/api.ts";

export interface CheckRunPoint {
  /** Epoch ms of the run. */
  t: number;
  latencyMs: number;
  ok: boolean;
}

/** A check's state from the contract, plus what this page has seen of it. */
export interface CheckView extends CheckState {
  /** Runs seen on this page, oldest first, for the longest chart window. */
  runs: CheckRunPoint[];
}

export interface UseHealthOptions {
  /** How far back runs are kept (the longest chart window). */
  keepSeconds: number;
  /** The header value for GET …/checks when viewer auth is on. */
  authorization?: MaybeRefOrGetter<string | undefined>;
}

export interface UseHealthReturn {
  /** One per check the definition lists, in its order. */
  checks: Readonly<ShallowRef<readonly CheckView[]>>;
  /** The checks that are down now. */
  down: ComputedRef<CheckView[]>;
  push: (e: HealthEvent) => void;
  clearRuns: () => void;
}

/** @param def the dashboard's definition: another one brings its own checks. */
export function useHealth(def: MaybeRefOrGetter<DashboardDef | null>, { keepSeconds, authorization }: UseHealthOptions): UseHealthReturn {
  const checks = shallowRef<readonly CheckView[]>([]);
  let request = 0;

  function blank(d: DashboardDef): CheckView[] {
    return d.checks.map((c) => ({
      name: c.name,
      url: c.url,
      intervalSeconds: c.intervalSeconds,
      status: null,
      lastRun: null,
      since: null,
      runs: [],
    }));
  }

  function update(name: string, change: (c: CheckView) => CheckView): void {
    checks.value = checks.value.map((c) => (c.name === name ? change(c) : c));
  }

  // A new definition (another dashboard): new entries, and the last state of each, once.
  watch(
    () => toValue(def),
    async (d) => {
      const mine = ++request;
      checks.value = d ? blank(d) : [];
      if (!d || d.checks.length === 0) return;
      let states: CheckState[];
      try {
        states = await fetchChecks(d.id, toValue(authorization));
      } catch {
        return; // the stream's health events fill the panel in as the checks run
      }
      if (mine !== request) return;
      for (const s of states) {
        update(s.name, (c) => {
          // The stream may already have brought a newer run: the newer one wins.
          const mineAt = c.lastRun ? Date.parse(c.lastRun.timestamp) : -Infinity;
          const theirsAt = s.lastRun ? Date.parse(s.lastRun.timestamp) : -Infinity;
          if (theirsAt < mineAt) return { ...c, since: c.since ?? (c.status === s.status ? s.since : null) };
          return { ...c, url: s.url, intervalSeconds: s.intervalSeconds, status: s.status, lastRun: s.lastRun, since: s.since };
        });
      }
    },
    { immediate: true },
  );

  /** One run from the stream, history or live, in id order. */
  function push(e: HealthEvent): void {
    const t = Date.parse(e.timestamp);
    update(e.name, (c) => {
      const runs = [...c.runs.filter((r) => r.t >= t - keepSeconds * 1000), { t, latencyMs: e.latencyMs, ok: e.ok }];
      // History older than the state /checks gave: a point on the sparkline, nothing more.
      if (c.lastRun && Date.parse(c.lastRun.timestamp) > t) return { ...c, runs: runs.sort((a, b) => a.t - b.t) };
      // From unknown to a status, since when is not known (/checks says); a change is exact.
      const since = c.status === e.status ? c.since : c.status === null ? null : e.timestamp;
      return { ...c, status: e.status, lastRun: e, since, runs };
    });
  }

  /** A new stream replays its history: runs start again, the last state stays. */
  function clearRuns(): void {
    checks.value = checks.value.map((c) => ({ ...c, runs: [] }));
  }

  const down = computed(() => checks.value.filter((c) => c.status === "down"));

  return { checks, down, push, clearRuns };
}

/** Share of `runs` at or after `fromMs` that succeeded, and how many there were. */
export function uptime(runs: readonly CheckRunPoint[], fromMs: number): { ratio: number | null; count: number } {
  let count = 0;
  let ok = 0;
  for (const r of runs) {
    if (r.t < fromMs) continue;
    count++;
    if (r.ok) ok++;
  }
  return { ratio: count > 0 ? ok / count : null, count };
}

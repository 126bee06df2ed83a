// One dashboard's live state: its definition (useDefinition), the SSE stream (through
// useEventStream), the rolling series the charts draw, each metric's latest value and level, the
// alert feed, and a single view state for the header and the banners. The stream opens only once
// the definition is in, so `?metrics=` is checked against it and the view is built before the
// history arrives. When the Worker wants viewer tickets, every connection the stream opens
// itself first gets one (useViewerTickets). Log lines and health-check runs go to useLogs and
// useHealth; check alerts join the metric alerts in the one feed.
import { computed, getCurrentScope, onScopeDispose, ref, shallowRef, watch, type Ref } from "vue";
import {
  compareEventIds,
  DEFAULT_LOG_LEVEL,
  EVENT,
  parseEventId,
  STREAM_QUERY,
  type Alert,
  type CheckAlert,
  type Dashboard,
  type EventId,
  type Gap,
  type HealthEvent,
  type LogDropped,
  type LogLine,
  type MetricDef,
  type MetricUpdate,
} from "../../../contract/index.ts";
import { diagnose, eventsUrl, fetchDashboards } from "../lib/api.ts";
import { levelOf, onceAFrame, selectMetrics, type Level } from "../lib/metrics.ts";
import { RollingSeries } from "../lib/series.ts";
import { useDefinition } from "./useDefinition.ts";
import type { EventSourceConstructor } from "../lib/event-stream.ts";
import { useEventStream } from "./useEventStream.ts";
import { useHealth } from "./useHealth.ts";
import { useLogs } from "./useLogs.ts";
import { useViewerTickets } from "./useViewerTickets.ts";

export type StreamEvents = {
  [EVENT.metric]: MetricUpdate;
  [EVENT.alert]: Alert | CheckAlert;
  [EVENT.gap]: Gap;
  [EVENT.log]: LogLine;
  [EVENT.logDropped]: LogDropped;
  [EVENT.health]: HealthEvent;
};

export type ViewState =
  | "idle"
  | "connecting"
  | "waiting"
  | "live"
  | "reconnecting"
  | "unreachable"
  | "refused"
  | "not-found"
  | "auth"
  | "paused";

/** A metric alert or a check alert (which has `check` instead of `metric`), as the feed shows it. */
export type AlertItem = (Alert | CheckAlert) & {
  id: string;
  /** Received as it happened, not replayed from history. */
  live: boolean;
};

/** Longest chart window: what the series keep. */
export const MAX_WINDOW_SECONDS = 15 * 60;
const MAX_ALERTS = 200;
/** Alerts younger than this are news (announced); older ones are history being replayed. */
const LIVE_ALERT_MS = 30_000;
/** While the EventSource retries by itself for this long, ask the server whether it is there. */
const DIAGNOSE_AFTER_MS = 5_000;
const DEBUG_MAX_IDS = 10_000;

export interface DashboardDebug {
  /** Every event id received on the current stream (since the last URL change), in order, duplicates included. */
  ids: string[];
  states: ViewState[];
  duplicates: number;
  streamUrls: string[];
}

export interface UseDashboardOptions {
  eventSource?: EventSourceConstructor;
}

/**
 * @param metricNames the address bar's `?metrics=` as written (empty: all); `selected` is what
 *   of it the dashboard defines.
 */
export function useDashboard(
  dashboard: Ref<string | null>,
  metricNames: Ref<readonly string[]>,
  windowSeconds: Ref<number>,
  options: UseDashboardOptions = {},
) {
  const definition = useDefinition(dashboard);
  const { def } = definition;
  /** The metrics shown and streamed, in definition order; empty until the definition is in. */
  const selected = computed<MetricDef[]>(() => (def.value ? selectMetrics(def.value.metrics, metricNames.value) : []));

  /** Per metric name, created on first use; cleared (not dropped) when a new stream starts. */
  const series = new Map<string, RollingSeries>();
  const seriesOf = (name: string) => {
    let s = series.get(name);
    if (!s) series.set(name, (s = new RollingSeries(MAX_WINDOW_SECONDS + 30)));
    return s;
  };
  /** Bumped at most once per frame after new samples: what charts watch. */
  const frame = ref(0);
  /**
   * Each metric's latest value. A sample may carry only some metrics (sources report at their
   * own rates): the others keep the value they had.
   */
  const values = shallowRef<Readonly<Record<string, number>>>({});
  /** Each metric's threshold level by the contract's rule, hysteresis included, from the values seen. */
  const levels = shallowRef<Readonly<Record<string, Level>>>({});
  const lastEventTime = ref<number | null>(null);
  const eventCount = ref(0);
  /**
   * What the stream has brought since the last frame; `shown` publishes it. A burst of events (a
   * reconnect's catch-up, or a backfill of a day's samples replayed to a new viewer) then costs
   * one render, not one per event: per-event updates of the cards and the charts' live edge kept
   * a 24 h page's main thread busy for seconds after its first paint.
   */
  let work = { values: {} as Record<string, number>, levels: {} as Record<string, Level>, lastEventTime: null as number | null, eventCount: 0 };
  const alerts = shallowRef<AlertItem[]>([]);
  /** Latest non-resolved alert per metric. */
  const activeAlerts = shallowRef<Readonly<Record<string, AlertItem & Alert>>>({});
  const announcement = ref("");
  const gap = ref<Gap | null>(null);
  const dashboards = ref<Dashboard[]>([]);
  const unreachable = ref(false);
  const refused = ref(false);
  const notFound = ref<string | null>(null);
  const tickets = useViewerTickets(dashboard);
  const logs = useLogs(dashboard);
  const health = useHealth(def, MAX_WINDOW_SECONDS, tickets.authorization);

  const debug: DashboardDebug = { ids: [], states: [], duplicates: 0, streamUrls: [] };
  (globalThis as { __dashboardDebug?: DashboardDebug }).__dashboardDebug = debug;

  // History covers the widest window asked for since the stream started: a wider window
  // restarts the stream to fill the chart at once; a narrower one just zooms.
  const historySeconds = ref(windowSeconds.value);
  watch(windowSeconds, (w) => {
    if (w > historySeconds.value) historySeconds.value = w;
  });
  watch([dashboard, () => selected.value.map((m) => m.name).join(",")], () => (historySeconds.value = windowSeconds.value), { flush: "sync" });

  const url = computed(() => {
    const id = dashboard.value;
    const d = def.value;
    if (!id || notFound.value === id || !d || d.id !== id || selected.value.length === 0) return null;
    const all = selected.value.length === d.metrics.length;
    return eventsUrl(id, {
      [STREAM_QUERY.history]: String(historySeconds.value),
      [STREAM_QUERY.metrics]: all ? undefined : selected.value.map((m) => m.name).join(","),
      [STREAM_QUERY.logs]: logs.streamLevel.value === DEFAULT_LOG_LEVEL ? undefined : logs.streamLevel.value,
    });
  });

  // No such dashboard: say so once the list for the not-found page is in (best effort).
  watch(definition.status, async (status) => {
    const id = dashboard.value;
    if (status !== "not-found" || !id) return;
    try {
      dashboards.value = await fetchDashboards();
    } catch {
      // the page lists what it already has
    }
    if (dashboard.value === id && definition.status.value === "not-found") notFound.value = id;
  });

  let lastKey: EventId | null = null;
  let generation = 0;
  function reset(): void {
    generation++;
    lastKey = null;
    for (const s of series.values()) s.clear();
    work = { values: {}, levels: {}, lastEventTime: null, eventCount: 0 };
    values.value = {};
    levels.value = {};
    lastEventTime.value = null;
    eventCount.value = 0;
    alerts.value = [];
    activeAlerts.value = {};
    gap.value = null;
    logs.clear();
    health.clearRuns();
    unreachable.value = false;
    refused.value = false;
    debug.ids.length = 0;
    debug.duplicates = 0;
    requestFrame();
  }
  // Sync: the store is empty before the new stream (or a stale one) can deliver anything.
  watch(url, (next) => {
    reset();
    if (next) debug.streamUrls.push(next);
  }, { flush: "sync" });
  if (url.value) debug.streamUrls.push(url.value);

  /** Records the id; false for an id not after the last one (a duplicate or a replay overlap). */
  function accept(id: string): boolean {
    if (debug.ids.length >= DEBUG_MAX_IDS) debug.ids.splice(0, debug.ids.length - DEBUG_MAX_IDS + 1);
    debug.ids.push(id);
    const key = parseEventId(id);
    if (!key) return true;
    if (lastKey && compareEventIds(key, lastKey) <= 0) {
      debug.duplicates++;
      return false;
    }
    lastKey = key;
    return true;
  }

  const requestFrame = onceAFrame(() => {
    if (values.value !== work.values) values.value = work.values;
    if (levels.value !== work.levels) levels.value = work.levels;
    lastEventTime.value = work.lastEventTime;
    eventCount.value = work.eventCount;
    frame.value++;
  });
  /** Notes an event's time (the newest seen) and counts it; shown on the next frame. */
  function counted(ms: number): void {
    work.lastEventTime = Math.max(work.lastEventTime ?? 0, ms);
    work.eventCount++;
    requestFrame();
  }

  let diagnoseTimer: ReturnType<typeof setTimeout> | null = null;
  function clearDiagnosis(): void {
    if (diagnoseTimer !== null) clearTimeout(diagnoseTimer);
    diagnoseTimer = null;
  }
  async function runDiagnosis(fatal: boolean): Promise<void> {
    const id = dashboard.value;
    const gen = generation;
    if (!id) return;
    const result = await diagnose(id);
    if (gen !== generation || id !== dashboard.value || stream.status.value === "open") return;
    if (result.kind === "unreachable") {
      unreachable.value = true;
      return;
    }
    unreachable.value = false;
    dashboards.value = result.dashboards;
    if (result.kind === "not-found") {
      // The URL becomes null: the stream closes, and opens again for the next dashboard chosen.
      notFound.value = id;
    } else if (fatal) {
      refused.value = true; // reachable, exists, and still the stream failed (busy, auth…)
    }
  }

  const stream = useEventStream<StreamEvents>(url, {
    eventSource: options.eventSource,
    resolveUrl: tickets.resolveStreamUrl,
    pauseWhenHidden: true,
    hiddenGraceMs: 5 * 60_000,
    retry: { maxAttempts: 10, baseMs: 1000, maxMs: 30_000, jitter: 0.5 },
    on: {
      [EVENT.metric]: (sample, message) => {
        if (!accept(message.lastEventId)) return;
        const ms = Date.parse(sample.timestamp);
        const t = ms / 1000;
        // Copies, so the refs published on the frame change identity (their readers are shallow).
        const nextValues: Record<string, number> = { ...work.values };
        const nextLevels: Record<string, Level> = { ...work.levels };
        // Only the metrics this sample carries get a point; no value is made up for the others.
        for (const m of def.value?.metrics ?? []) {
          const value = sample[m.name];
          if (typeof value !== "number") continue;
          seriesOf(m.name).push(t, value);
          nextValues[m.name] = value;
          nextLevels[m.name] = levelOf(m, value, nextLevels[m.name]);
        }
        work.values = nextValues;
        work.levels = nextLevels;
        counted(ms);
      },
      [EVENT.alert]: (alert, message) => {
        if (!accept(message.lastEventId)) return;
        const item: AlertItem = { ...alert, id: message.lastEventId, live: Date.now() - Date.parse(alert.timestamp) < LIVE_ALERT_MS };
        alerts.value = [item, ...alerts.value].slice(0, MAX_ALERTS);
        // A check's current trouble is its status (useHealth); a metric's is its latest alert.
        if ("metric" in alert) {
          const active = { ...activeAlerts.value };
          if (alert.level === "resolved") delete active[alert.metric];
          else active[alert.metric] = { ...alert, id: item.id, live: item.live };
          activeAlerts.value = active;
        }
        if (item.live && alert.level === "critical") announcement.value = `Critical alert: ${alert.message}`;
        counted(Date.parse(alert.timestamp));
      },
      [EVENT.log]: (line, message) => {
        if (!accept(message.lastEventId)) return;
        logs.push(line, message.lastEventId);
        work.eventCount++;
        requestFrame();
      },
      [EVENT.logDropped]: (d) => logs.dropped(d),
      [EVENT.health]: (run, message) => {
        if (!accept(message.lastEventId)) return;
        health.push(run);
        counted(Date.parse(run.timestamp));
      },
      [EVENT.gap]: (g) => {
        gap.value = g;
        for (const s of series.values()) s.break();
        requestFrame();
      },
    },
    onOpen: () => {
      clearDiagnosis();
      unreachable.value = false;
      refused.value = false;
    },
    onError: ({ fatal, failures, error }) => {
      if (fatal) {
        clearDiagnosis();
        // A stream refused once its ticket's time is up: expired, the next try has a fresh one.
        void runDiagnosis(!tickets.expired(failures, error));
      } else if (diagnoseTimer === null) {
        diagnoseTimer = setTimeout(() => {
          diagnoseTimer = null;
          if (stream.status.value !== "open") void runDiagnosis(false);
        }, DIAGNOSE_AFTER_MS);
      }
    },
  });

  const state = computed<ViewState>(() => {
    const id = dashboard.value;
    if (!id) return "idle";
    if (notFound.value === id) return "not-found";
    if (tickets.needed.value) return "auth";
    if (stream.paused.value) return "paused";
    // Until the definition is in there is no stream to speak of.
    const defStatus = definition.status.value;
    if (defStatus === "unreachable") return "unreachable";
    if (defStatus === "loading" || defStatus === "not-found") return "connecting";
    const status = stream.status.value;
    if (status === "open") return eventCount.value > 0 ? "live" : "waiting";
    if (unreachable.value) return "unreachable";
    if (refused.value) return "refused";
    if (status === "connecting") return stream.reconnecting.value ? "reconnecting" : "connecting";
    return "idle";
  });
  watch(state, (s) => debug.states.push(s), { immediate: true, flush: "sync" });

  /** After giving up, a browser coming back online is worth another try. */
  const onOnline = () => {
    if (stream.gaveUp.value) stream.reconnect();
  };
  globalThis.addEventListener?.("online", onOnline);
  if (getCurrentScope()) {
    onScopeDispose(() => {
      clearDiagnosis();
      globalThis.removeEventListener?.("online", onOnline);
    });
  }

  return {
    stream,
    state,
    def,
    selected,
    seriesOf,
    frame,
    values,
    levels,
    lastEventTime,
    eventCount,
    alerts,
    activeAlerts,
    announcement,
    gap,
    dashboards,
    historySeconds,
    logs,
    health,
    /** Ticket mode: whether a viewer token is needed, why the last one was refused, and submit. */
    auth: { needed: tickets.needed, error: tickets.error, submit: tickets.submit, authorization: tickets.authorization },
    dismissGap: () => (gap.value = null),
    /** Forget a not-found verdict (e.g. after the list was fetched again) and try again. */
    retry: () => {
      notFound.value = null;
      unreachable.value = false;
      refused.value = false;
      if (definition.status.value === "ready") stream.reconnect();
      else definition.reload();
    },
  };
}

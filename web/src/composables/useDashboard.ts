// One dashboard's live state: its definition (useDefinition), the SSE stream (useEventStream),
// what its events make of the page (useLiveValues: the rolling series, each metric's latest value
// and level, the alert feed), and a single view state for the header and the banners. The stream
// opens only once the definition is in, so `?metrics=` is checked against it and the view is built
// before the history arrives. When the Worker wants viewer tickets, every connection the stream
// opens itself first gets one (useViewerTickets). Log lines and health-check runs go to useLogs
// and useHealth; check alerts join the metric alerts in the one feed.
import {
  computed,
  getCurrentScope,
  onScopeDispose,
  ref,
  toValue,
  watch,
  type ComputedRef,
  type MaybeRefOrGetter,
  type Ref,
  type ShallowRef,
} from "vue";
import {
  compareEventIds,
  DEFAULT_LOG_LEVEL,
  EVENT,
  parseEventId,
  STREAM_QUERY,
  type Alert,
  type Dashboard,
  type DashboardDef,
  type EventId,
  type Gap,
  type MetricDef,
} from "../../../contract/index.ts";
import { diagnose, eventsUrl, fetchDashboards } from "../lib/api.ts";
import { selectMetrics } from "../lib/metrics.ts";
import type { DashboardDebug, StreamEvents, ViewState } from "../lib/dashboard.ts";
import { useDefinition } from "./useDefinition.ts";
import type { EventSourceConstructor, UseEventStreamReturn } from "../lib/event-stream.ts";
import { useEventStream } from "./useEventStream.ts";
import { useHealth, type UseHealthReturn } from "./useHealth.ts";
import { MAX_WINDOW_SECONDS, useLiveValues, type AlertItem, type UseLiveValuesReturn } from "./useLiveValues.ts";
import { useLogs, type UseLogsReturn } from "./useLogs.ts";
import { useViewerTickets, type UseViewerTicketsReturn } from "./useViewerTickets.ts";

export type { DashboardDebug, StreamEvents, ViewState };

/** While the EventSource retries by itself for this long, ask the server whether it is there. */
const DIAGNOSE_AFTER_MS = 5_000;
const DEBUG_MAX_IDS = 10_000;

export interface UseDashboardOptions {
  dashboard: MaybeRefOrGetter<string | null>;
  /** The address bar's `?metrics=` as written (empty: all); `selected` is what of it the dashboard defines. */
  metricNames: MaybeRefOrGetter<readonly string[]>;
  /** The chart window's live part: the stream's history covers the widest one asked for. */
  windowSeconds: MaybeRefOrGetter<number>;
  /** Where the dashboard list goes when a failure or a not-found verdict fetches it (default: a ref of its own). */
  dashboards?: Ref<Dashboard[]>;
  /** Default globalThis.EventSource. */
  eventSource?: EventSourceConstructor;
}

export interface UseDashboardReturn extends Pick<
  UseLiveValuesReturn,
  | "seriesOf"
  | "liveSeries"
  | "worst"
  | "frame"
  | "values"
  | "levels"
  | "lastEventTime"
  | "eventCount"
  | "alerts"
  | "activeAlerts"
  | "announcement"
> {
  stream: UseEventStreamReturn;
  /** One state for the header and the banners. */
  state: ComputedRef<ViewState>;
  def: Readonly<ShallowRef<DashboardDef | null>>;
  /** The metrics shown and streamed, in definition order; empty until the definition is in. */
  selected: ComputedRef<MetricDef[]>;
  /** The shown dashboard's metrics whose latest alert is critical, in definition order. */
  criticals: ComputedRef<{ alert: AlertItem & Alert; def: MetricDef }[]>;
  /** Set by a `gap` event until dismissed. */
  gap: Readonly<Ref<Gap | null>>;
  dashboards: Ref<Dashboard[]>;
  logs: UseLogsReturn;
  health: UseHealthReturn;
  /** Ticket mode: whether a viewer token is needed, why the last one was refused, and submit. */
  auth: Pick<UseViewerTicketsReturn, "needed" | "error" | "submit" | "authorization">;
  dismissGap: () => void;
  /** Forget a not-found verdict (e.g. after the list was fetched again) and try again. */
  retry: () => void;
}

export function useDashboard(options: UseDashboardOptions): UseDashboardReturn {
  const dashboard = () => toValue(options.dashboard);
  const windowSeconds = () => toValue(options.windowSeconds);
  const definition = useDefinition(dashboard);
  const { def } = definition;
  const selected = computed<MetricDef[]>(() => (def.value ? selectMetrics(def.value.metrics, toValue(options.metricNames)) : []));

  const live = useLiveValues();
  const gap = ref<Gap | null>(null);
  const dashboards = options.dashboards ?? ref<Dashboard[]>([]);
  const unreachable = ref(false);
  const refused = ref(false);
  const notFound = ref<string | null>(null);
  const tickets = useViewerTickets(dashboard);
  const logs = useLogs(dashboard);
  const health = useHealth(def, { keepSeconds: MAX_WINDOW_SECONDS, authorization: tickets.authorization });

  const debug: DashboardDebug = { ids: [], states: [], duplicates: 0, streamUrls: [] };
  (globalThis as { __dashboardDebug?: DashboardDebug }).__dashboardDebug = debug;

  // History covers the widest window asked for since the stream started: a wider window
  // restarts the stream to fill the chart at once; a narrower one just zooms.
  const historySeconds = ref(windowSeconds());
  watch(windowSeconds, (w) => {
    if (w > historySeconds.value) historySeconds.value = w;
  });
  watch([dashboard, () => selected.value.map((m) => m.name).join(",")], () => (historySeconds.value = windowSeconds()), {
    flush: "sync",
  });

  const url = computed(() => {
    const id = dashboard();
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
    const id = dashboard();
    if (status !== "not-found" || !id) return;
    try {
      dashboards.value = await fetchDashboards();
    } catch {
      // the page lists what it already has
    }
    if (dashboard() === id && definition.status.value === "not-found") notFound.value = id;
  });

  let lastKey: EventId | null = null;
  let generation = 0;
  function reset(): void {
    generation++;
    lastKey = null;
    live.reset();
    gap.value = null;
    logs.clear();
    health.clearRuns();
    unreachable.value = false;
    refused.value = false;
    debug.ids.length = 0;
    debug.duplicates = 0;
  }
  // Sync: the store is empty before the new stream (or a stale one) can deliver anything.
  watch(
    url,
    (next) => {
      reset();
      if (next) debug.streamUrls.push(next);
    },
    { flush: "sync" },
  );
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

  let diagnoseTimer: ReturnType<typeof setTimeout> | null = null;
  function clearDiagnosis(): void {
    if (diagnoseTimer !== null) clearTimeout(diagnoseTimer);
    diagnoseTimer = null;
  }
  async function runDiagnosis(fatal: boolean): Promise<void> {
    const id = dashboard();
    const gen = generation;
    if (!id) return;
    const result = await diagnose(id);
    if (gen !== generation || id !== dashboard() || stream.status.value === "open") return;
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
        if (accept(message.lastEventId)) live.metric(sample, def.value?.metrics ?? []);
      },
      [EVENT.alert]: (alert, message) => {
        if (accept(message.lastEventId)) live.alert(alert, message.lastEventId);
      },
      [EVENT.log]: (line, message) => {
        if (!accept(message.lastEventId)) return;
        logs.push(line, message.lastEventId);
        live.counted();
      },
      [EVENT.logDropped]: (d) => logs.dropped(d),
      [EVENT.health]: (run, message) => {
        if (!accept(message.lastEventId)) return;
        health.push(run);
        live.counted(Date.parse(run.timestamp));
      },
      [EVENT.gap]: (g) => {
        gap.value = g;
        live.breakSeries();
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
    const id = dashboard();
    if (!id) return "idle";
    if (notFound.value === id) return "not-found";
    if (tickets.needed.value) return "auth";
    if (stream.paused.value) return "paused";
    // Until the definition is in there is no stream to speak of.
    const defStatus = definition.status.value;
    if (defStatus === "unreachable") return "unreachable";
    if (defStatus === "loading" || defStatus === "not-found") return "connecting";
    const status = stream.status.value;
    if (status === "open") return live.eventCount.value > 0 ? "live" : "waiting";
    if (unreachable.value) return "unreachable";
    if (refused.value) return "refused";
    if (status === "connecting") return stream.reconnecting.value ? "reconnecting" : "connecting";
    return "idle";
  });
  watch(state, (s) => debug.states.push(s), { immediate: true, flush: "sync" });

  const criticals = computed(() =>
    (def.value?.metrics ?? []).flatMap((m) =>
      Object.values(live.activeAlerts.value)
        .filter((a) => a.metric === m.name && a.level === "critical")
        .map((alert) => ({ alert, def: m })),
    ),
  );

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
    seriesOf: live.seriesOf,
    liveSeries: live.liveSeries,
    worst: live.worst,
    frame: live.frame,
    values: live.values,
    levels: live.levels,
    lastEventTime: live.lastEventTime,
    eventCount: live.eventCount,
    alerts: live.alerts,
    activeAlerts: live.activeAlerts,
    announcement: live.announcement,
    criticals,
    gap,
    dashboards,
    logs,
    health,
    auth: tickets,
    dismissGap: () => (gap.value = null),
    retry: () => {
      notFound.value = null;
      unreachable.value = false;
      refused.value = false;
      if (definition.status.value === "ready") stream.reconnect();
      else definition.reload();
    },
  };
}

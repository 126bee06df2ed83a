// The selected dashboard's definition (`GET /api/dashboards/:id`): what it measures, and so
// which cards, charts, chips and colours the page has. Fetched again whenever the dashboard
// changes; a failed fetch is retried with backoff until it succeeds or the dashboard changes.
import { getCurrentScope, onScopeDispose, ref, shallowRef, toValue, watch, type MaybeRefOrGetter, type Ref, type ShallowRef } from "vue";
import type { DashboardDef } from "../../../contract/index.ts";
import { fetchDashboardDef } from "../lib/api.ts";
import { backoffDelay, retryPolicy } from "../lib/event-stream.ts";

/** 2, 4, 8, 16 s, then every 30 s, without jitter (as it always was). */
const RETRY = retryPolicy({ baseMs: 2000, jitter: 0 });

export type DefinitionStatus = "idle" | "loading" | "ready" | "not-found" | "unreachable";

export interface UseDefinitionReturn {
  /** Only ever the definition of the current dashboard (null while it loads). */
  def: Readonly<ShallowRef<DashboardDef | null>>;
  status: Readonly<Ref<DefinitionStatus>>;
  /** Fetch it again now (a pending retry is dropped). */
  reload: () => void;
}

export function useDefinition(dashboard: MaybeRefOrGetter<string | null>): UseDefinitionReturn {
  const def = shallowRef<DashboardDef | null>(null);
  const status = ref<DefinitionStatus>("idle");
  let request = 0;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function load(): Promise<void> {
    clearTimeout(timer);
    const id = toValue(dashboard);
    const mine = ++request;
    if (!id) {
      status.value = "idle";
      return;
    }
    // While retrying after a failure, stay "unreachable" rather than flicker back to loading.
    if (status.value !== "unreachable") status.value = "loading";
    try {
      const result = await fetchDashboardDef(id);
      if (mine !== request) return;
      failures = 0;
      def.value = result;
      status.value = result ? "ready" : "not-found";
    } catch {
      if (mine !== request) return;
      failures++;
      status.value = "unreachable";
      timer = setTimeout(load, backoffDelay(failures, RETRY));
    }
  }

  // Sync: the old dashboard's definition is gone before anything renders the new dashboard.
  watch(
    () => toValue(dashboard),
    () => {
      def.value = null;
      failures = 0;
      status.value = "idle";
      void load();
    },
    { flush: "sync", immediate: true },
  );
  if (getCurrentScope()) onScopeDispose(() => clearTimeout(timer));

  return { def, status, reload: () => void load() };
}

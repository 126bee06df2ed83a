// The dashboards there are (GET /api/dashboards), for the switcher and the not-found page:
// fetched once, and again after a pause for as long as that fails.
import { getCurrentScope, onScopeDispose, ref, type Ref } from "vue";
import type { Dashboard } from "../../../contract/index.ts";
import { fetchDashboards } from "../lib/api.ts";

export interface UseDashboardListOptions {
  /** The pause before trying again after a failure (default 5000 ms). */
  retryMs?: number;
  /** After each successful fetch. */
  onLoad?: (dashboards: Dashboard[]) => void;
}

export interface UseDashboardListReturn {
  /** Empty until a fetch succeeds. Writable: useDashboard refreshes it when it asks the server why a stream failed. */
  dashboards: Ref<Dashboard[]>;
  /** The last fetch failed (the next one is on its way). */
  failed: Readonly<Ref<boolean>>;
}

export function useDashboardList({ retryMs = 5000, onLoad }: UseDashboardListOptions = {}): UseDashboardListReturn {
  const dashboards = ref<Dashboard[]>([]);
  const failed = ref(false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;

  async function load(): Promise<void> {
    try {
      dashboards.value = await fetchDashboards();
      failed.value = false;
      onLoad?.(dashboards.value);
    } catch {
      failed.value = true;
      // A fetch still out when the scope went is not tried again.
      if (!disposed) timer = setTimeout(load, retryMs);
    }
  }
  void load();
  if (getCurrentScope()) {
    onScopeDispose(() => {
      disposed = true;
      clearTimeout(timer);
    });
  }
  return { dashboards, failed };
}

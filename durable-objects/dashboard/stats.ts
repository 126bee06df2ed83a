// GET /api/dashboards/:id/stats: the object's own counts, with its relays' viewers, deliveries
// and storage added in (each relay is its own object, with its own rows).
import { formatEventId, type DashboardStats, type EventId, type EventLogHealth } from "../../contract/index.ts";
import type { RelayReport } from "../../core/rpc.ts";
import type { StorageUse } from "../storage/meter.ts";

export interface StatsParts {
  dashboard: string;
  /** Streams the object holds itself. */
  viewers: number;
  relays: RelayReport[];
  last: EventId | null;
  published: number;
  delivered: number;
  retentionSeconds: number;
  eventLog: EventLogHealth;
  storage: StorageUse;
}

export function dashboardStats(o: StatsParts): DashboardStats {
  return {
    dashboard: o.dashboard,
    connectedClients: o.viewers + o.relays.reduce((sum, r) => sum + r.viewers, 0),
    relays: o.relays.filter((r) => r.viewers > 0).length,
    lastEventId: o.last ? formatEventId(o.last) : null,
    lastEventTime: o.last ? new Date(o.last.ms).toISOString() : null,
    eventsPublished: o.published,
    eventsDelivered: o.delivered,
    retentionSeconds: o.retentionSeconds,
    eventLog: { ...o.eventLog },
    storage: o.relays.reduce(
      (sum, r) => ({
        rowsRead: sum.rowsRead + r.storage.rowsRead,
        rowsWritten: sum.rowsWritten + r.storage.rowsWritten,
        bytes: sum.bytes + r.storage.bytes,
      }),
      o.storage,
    ),
  };
}

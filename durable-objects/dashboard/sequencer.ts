// What a publish becomes: entries with the dashboard's next ids, each sample followed by the
// alerts the rules raise for it, and publisher ticks seen before refused. The dashboard object
// is the only writer, so its ids never go backwards and two publishers cannot race.
import {
  evaluateAlerts,
  EVENT,
  formatEventId,
  nextEventId,
  type DashboardDef,
  type EventId,
  type EventName,
  type GoneSeries,
  type MetricUpdate,
} from "../../contract/index.ts";
import type { Entry } from "../streams/fanout.ts";
import type { PersistedState } from "./state.ts";

export class Sequencer {
  /** Last id assigned; ids of events still in the outbox are above the last committed one. */
  lastAssigned: EventId | null = null;

  constructor(
    private readonly def: DashboardDef,
    /** Where the alert levels and the publishers' sequences are kept (saved by the object). */
    private readonly state: PersistedState,
  ) {}

  /** A (source, seq) seen before: a retried or overlapping publish. Otherwise it is recorded. */
  duplicate(source: string | undefined, seq: number | undefined): boolean {
    if (source === undefined || seq === undefined) return false;
    const seen = this.state.lastSeq[source];
    if (seen !== undefined && seq <= seen) return true;
    this.state.lastSeq[source] = seq;
    return false;
  }

  /**
   * Each sample's metric-update, then the alerts it raised (`gone[i]`: split series that went
   * stale with sample i). `at`: the time their ids carry when it is after the last (a backfill).
   */
  samples(samples: readonly MetricUpdate[], gone: readonly (readonly GoneSeries[])[] = [], at = Date.now()): Entry[] {
    const entries: Entry[] = [];
    for (const [i, sample] of samples.entries()) {
      const { alerts, state } = evaluateAlerts(sample, this.def, this.state.alertState, gone[i]);
      this.state.alertState = state;
      entries.push(this.entry(EVENT.metric, sample, at));
      for (const alert of alerts) entries.push(this.entry(EVENT.alert, alert, at));
    }
    return entries;
  }

  entry(event: EventName, payload: object, at = Date.now()): Entry {
    const key = nextEventId(this.lastAssigned, at);
    this.lastAssigned = key;
    return { id: formatEventId(key), key, event, data: JSON.stringify(payload), payload: payload as Record<string, unknown> };
  }
}

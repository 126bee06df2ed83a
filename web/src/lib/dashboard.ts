// What useDashboard works with besides its options and return: the events its stream carries,
// the page's one view state (and how the header and the tab title say it), and the record the
// browser tests read. Kept apart so the composable file is the state machine alone.
import type { Alert, CheckAlert, EVENT, Gap, HealthEvent, LogDropped, LogLine, MetricUpdate } from "../../../contract/index.ts";

export type StreamEvents = {
  [EVENT.metric]: MetricUpdate;
  [EVENT.alert]: Alert | CheckAlert;
  [EVENT.gap]: Gap;
  [EVENT.log]: LogLine;
  [EVENT.logDropped]: LogDropped;
  [EVENT.health]: HealthEvent;
};

export type ViewState =
  "idle" | "connecting" | "waiting" | "live" | "reconnecting" | "unreachable" | "refused" | "not-found" | "auth" | "paused";

export const STATUS_TEXT: Record<ViewState, string> = {
  idle: "Loading…",
  connecting: "Connecting…",
  waiting: "Connected · waiting for first event",
  live: "Connected",
  reconnecting: "Reconnecting…",
  unreachable: "Server unreachable",
  refused: "Stream refused",
  "not-found": "Not found",
  auth: "Viewer token needed",
  paused: "Paused",
};

/** `globalThis.__dashboardDebug`, which the browser tests read. */
export interface DashboardDebug {
  /** Every event id received on the current stream (since the last URL change), in order, duplicates included. */
  ids: string[];
  states: ViewState[];
  duplicates: number;
  streamUrls: string[];
}

// What the dashboard object keeps in its `meta` table across restarts (besides the event log
// and the counter states of counter-rates.ts).
import type { AlertState } from "../../contract/index.ts";
import type { CheckRecord } from "./check-state.ts";

export interface PersistedState {
  /** Last id assigned (events up to it may still be in the outbox). */
  lastId: string | null;
  /** Last id known to be in the log. */
  committedId: string | null;
  alertState: AlertState;
  lastSeq: Record<string, number>;
  checks: Record<string, CheckRecord>;
  published: number;
  delivered: number;
}

export const NEW_STATE = (): PersistedState => ({
  lastId: null,
  committedId: null,
  alertState: {},
  lastSeq: {},
  checks: {},
  published: 0,
  delivered: 0,
});

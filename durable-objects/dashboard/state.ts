// What the dashboard object keeps in its `meta` table across restarts (besides the event log
// and the counter states of ingest/counter-rates.ts).
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

const NEW_STATE = (): PersistedState => ({
  lastId: null,
  committedId: null,
  alertState: {},
  lastSeq: {},
  checks: {},
  published: 0,
  delivered: 0,
});

/** The state as the object last saved it (a new object's when there is none). */
export function loadState(sql: SqlStorage): PersistedState {
  sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const [row] = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'state'").toArray();
  return row ? { ...NEW_STATE(), ...(JSON.parse(row.value) as PersistedState) } : NEW_STATE();
}

export function saveState(sql: SqlStorage, state: PersistedState): void {
  sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('state', ?)", JSON.stringify(state));
}

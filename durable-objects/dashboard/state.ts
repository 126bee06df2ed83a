// What the dashboard object keeps in its `meta` table across restarts (besides the event log,
// the history buckets and the counter states of ingest/counter-rates.ts), and when it writes it.
// Rows written are billed, so the state is written at once only when a change must survive a
// restart and happens rarely: an alert level (with the commit that carries the alert), a health
// check's status or streak. Everything else (counts, the last ids, publishers' sequences, checks'
// last runs) is written at a checkpoint at most every CHECKPOINT_MS, and what a crash loses of
// it is rebuilt or harmless: ids come from the log, sequences from the recent window.
import type { AlertState } from "../../contract/index.ts";
import type { Sql } from "../storage/meter.ts";
import type { CheckRecord } from "./check-state.ts";

export const CHECKPOINT_MS = 5 * 60_000;

export interface PersistedState {
  alertState: AlertState;
  checks: Record<string, CheckRecord>;
  /** Each sequenced publisher's last sequence (the simulator's: the time of its last tick). */
  lastSeq: Record<string, number>;
  published: number;
  delivered: number;
  /** Last id assigned and last id committed, as of the last write: where ids go on when the log cannot be read at start. */
  lastId: string | null;
  committedId: string | null;
}

const NEW_STATE = (): PersistedState => ({
  alertState: {},
  checks: {},
  lastSeq: {},
  published: 0,
  delivered: 0,
  lastId: null,
  committedId: null,
});

export class StateStore {
  readonly value: PersistedState;
  private dirty = false;
  private savedAt: number;

  constructor(
    private readonly sql: Sql,
    now = Date.now(),
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const [row] = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'state'").toArray();
    this.value = row ? { ...NEW_STATE(), ...(JSON.parse(row.value) as Partial<PersistedState>) } : NEW_STATE();
    this.savedAt = now;
  }

  /** Writes the state now: a change a restart must not lose. */
  save(now = Date.now()): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('state', ?)", JSON.stringify(this.value));
    this.dirty = false;
    this.savedAt = now;
  }

  /** The state changed in a way that can wait for the next checkpoint. */
  touch(): void {
    this.dirty = true;
  }

  /** Writes what changed, when the last write is CHECKPOINT_MS old. True when it wrote. */
  checkpoint(now = Date.now()): boolean {
    if (!this.dirty || now - this.savedAt < CHECKPOINT_MS) return false;
    this.save(now);
    return true;
  }
}

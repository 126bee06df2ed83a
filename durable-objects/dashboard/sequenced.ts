// Publishes that name their source and a sequence number (the cron's simulated ticks, the
// object's own bridge, any publisher that retries): a (source, seq) seen before is refused, so
// a retried or overlapping publish never lands twice. After a start the sequences are rebuilt
// once from the recent window, since the checkpoint that holds them may be behind.
import { EVENT } from "../../contract/index.ts";
import type { PublishRequest, PublishResult } from "../../core/rpc.ts";
import { SIMULATOR } from "../../core/simulation/tick.ts";
import type { Entry } from "../streams/fanout.ts";
import type { CatchUp } from "./catch-up.ts";
import type { Sequencer } from "./sequencer.ts";
import type { PersistedState } from "./state.ts";

export interface SequencedParts {
  seq: Sequencer;
  state: () => PersistedState;
  history: CatchUp;
  /** Appends and commits; answers once durable. */
  emit: (entries: Entry[]) => Promise<PublishResult>;
}

export class SequencedInput {
  private rebuilt: Promise<void> | null = null;

  constructor(private readonly o: SequencedParts) {}

  /** A publish, refused as a duplicate when its (source, seq) was seen before. */
  async publish({ samples, logs = [], source, seq }: PublishRequest): Promise<PublishResult> {
    if (source !== undefined) await this.ready();
    if (this.o.seq.duplicate(source, seq)) return { ids: [], events: [], duplicate: true };
    const entries = this.o.seq.samples(samples);
    for (const line of logs) entries.push(this.o.seq.entry(EVENT.log, line));
    return this.o.emit(entries);
  }

  /**
   * The simulator's ticks a first viewer missed, in one commit. Their ids carry their tick's
   * time (as if the cron had published them then, where that is after the last id), so
   * `history=` counts them where they belong and a viewer asking for none gets none; they are
   * `backdated`: history, not news to notify.
   */
  async backfill(ticks: PublishRequest[]): Promise<void> {
    await this.ready();
    const fresh = ticks.filter((t) => t.seq! > (this.o.state().lastSeq[SIMULATOR] ?? -Infinity));
    if (fresh.length === 0 || this.o.seq.duplicate(SIMULATOR, fresh.at(-1)!.seq)) return;
    const entries: Entry[] = [];
    for (const { samples, logs = [], seq } of fresh) {
      entries.push(...this.o.seq.samples(samples, [], seq));
      for (const line of logs) entries.push(this.o.seq.entry(EVENT.log, line, seq));
    }
    for (const e of entries) e.backdated = true;
    await this.o.emit(entries);
  }

  /** The simulator's newest tick, once the sequences are known after a start. */
  async lastTick(): Promise<number | undefined> {
    await this.ready();
    return this.o.state().lastSeq[SIMULATOR];
  }

  private ready(): Promise<void> {
    return (this.rebuilt ??= this.rebuild());
  }

  /**
   * A sequenced publisher's last tick is at least the newest sample in the recent window (its
   * `seq` is the time its samples carry), so a tick retried across a restart is still refused.
   */
  private async rebuild(): Promise<void> {
    try {
      await this.o.history.ensureWindow();
    } catch {
      return; // the log cannot be read: the checkpoint's sequences will do
    }
    const state = this.o.state();
    const entries = this.o.history.window.entries;
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e.event !== EVENT.metric) continue;
      const ts = Date.parse(String((e.payload ??= JSON.parse(e.data) as Record<string, unknown>).timestamp));
      for (const source of [SIMULATOR, ...Object.keys(state.lastSeq)])
        state.lastSeq[source] = Math.max(state.lastSeq[source] ?? -Infinity, ts);
      return;
    }
  }
}

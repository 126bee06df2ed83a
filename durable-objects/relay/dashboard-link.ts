// A relay's line to its dashboard's object: the RPC stub (replaced once when a call fails, as
// after the object restarted) and replays paged until complete.
import { parseEventId, type EventId, type Gap } from "../../contract/index.ts";
import type { ReplayRequest } from "../../core/rpc.ts";
import { toEntry, type Entry } from "../streams/fanout.ts";

export type DashboardStub = ReturnType<Env["DASHBOARD"]["getByName"]>;

/** What the dashboard sent for a replay, every page joined. */
export interface Replayed {
  gap: Gap | null;
  entries: Entry[];
  through: EventId | null;
  sinceMs: number;
}

export class DashboardLink {
  private stub: DashboardStub | null = null;

  constructor(
    private readonly namespace: Env["DASHBOARD"],
    /** The dashboard's name (read when first needed: a relay may learn its name late). */
    private readonly dashboard: () => string,
  ) {}

  /** Calls the dashboard object; a broken stub (the object restarted) is replaced and the call tried once more. */
  async call<T>(fn: (dashboard: DashboardStub) => Promise<T>): Promise<T> {
    try {
      return await fn((this.stub ??= this.namespace.getByName(this.dashboard())));
    } catch {
      this.stub = this.namespace.getByName(this.dashboard());
      return await fn(this.stub);
    }
  }

  /** A replay, paged until complete. */
  async replayAll(request: ReplayRequest): Promise<Replayed> {
    const first = await this.call((d) => d.replay(request));
    const entries = first.entries.map(toEntry);
    let { through, more } = first;
    while (more) {
      const next = await this.call((d) => d.replay({ lastEventId: through, sinceMs: 0 }));
      for (const raw of next.entries) entries.push(toEntry(raw));
      ({ through, more } = next);
    }
    return { gap: first.gap, entries, through: parseEventId(through), sinceMs: first.sinceMs };
  }
}

// The log panel's state: the last KEEP lines of the stream (plain array, applied at most once a
// frame, so a burst of a thousand lines is one render), the level and text filters, follow mode
// and a polite summary for screen readers. The DOM gets at most ROWS of the matching lines: a
// cap, not a virtual list, because rows differ in height (expanded ones, long messages wrapping).
import {
  computed,
  getCurrentScope,
  onScopeDispose,
  ref,
  shallowRef,
  toValue,
  watch,
  type ComputedRef,
  type MaybeRefOrGetter,
  type Ref,
} from "vue";
import { DEFAULT_LOG_LEVEL, type LogDropped, type LogLevel, type LogLine } from "../../../contract/index.ts";
import { levelRank, matchesText } from "../lib/logs.ts";
import { onceAFrame } from "../lib/metrics.ts";

export type LogEntry =
  | { kind: "line"; seq: number; id: string | null; ms: number; line: LogLine }
  | { kind: "dropped"; seq: number; count: number; message: string };

/** Lines kept in memory (what the filters search). */
export const LOG_KEEP = 2000;
/** Rows in the DOM at most: the newest matching lines. */
export const LOG_ROWS = 500;
/** A line is news (may be announced) when it is this recent; older ones are history replayed. */
const LIVE_MS = 30_000;
/** Screen readers hear at most one summary per this long. */
const ANNOUNCE_EVERY_MS = 10_000;

export interface UseLogsReturn {
  /** A line (or a drop) has arrived for this dashboard, history included: the panel shows. */
  seen: Readonly<Ref<boolean>>;
  /** The lowest level the stream must ask for (`?logs=`): lowered by `minLevel`, reset by another dashboard. */
  streamLevel: Readonly<Ref<LogLevel>>;
  /** The level filter (default the server's, `info`). */
  minLevel: Ref<LogLevel>;
  /** The text filter as typed. */
  text: Ref<string>;
  /** Follow mode: the view stays on the newest line. */
  following: Readonly<Ref<boolean>>;
  /** What the DOM shows: the newest LOG_ROWS of `matching`. */
  rows: ComputedRef<LogEntry[]>;
  /** The kept entries that pass the filters (the snapshot's while paused). */
  matching: ComputedRef<LogEntry[]>;
  /** Matching lines that arrived since follow mode paused; `more` once more came than is kept. */
  newSincePause: ComputedRef<{ count: number; more: boolean }>;
  /** A polite summary of new error lines and drops, for screen readers. */
  announcement: Readonly<Ref<string>>;
  push: (line: LogLine, id: string | null) => void;
  dropped: (d: LogDropped) => void;
  /** Leave follow mode: the rows freeze. */
  pause: () => void;
  /** Back to follow mode, at the newest line. */
  resume: () => void;
  clear: (forget?: boolean) => void;
}

/** @param dashboard another dashboard starts the panel (and what the stream asks for) afresh. */
export function useLogs(dashboard?: MaybeRefOrGetter<string | null>): UseLogsReturn {
  let buffer: LogEntry[] = [];
  let pending: LogEntry[] = [];
  let seq = 0;
  /** Bumped when `buffer` changes: what the computeds below depend on. */
  const version = ref(0);
  /** A line (or a drop) has arrived for this dashboard, history included: the panel shows. */
  const seen = ref(false);
  const minLevel = ref<LogLevel>(DEFAULT_LOG_LEVEL);
  /** The text filter as typed. */
  const text = ref("");
  /** Follow mode: the view stays on the newest line. Off while the viewer reads older ones. */
  const following = ref(true);
  /** While paused, the rows shown are this snapshot: new lines never move what is being read. */
  const frozen = shallowRef<LogEntry[] | null>(null);
  const announcement = ref("");
  // The level filter works here. Only a level below the server's default (debug) must be asked
  // for in `?logs=` (the stream reopens for it); like the history, it stays asked for until the
  // dashboard changes, so going back up only filters.
  const lower = (a: LogLevel, b: LogLevel) => (levelRank(a) < levelRank(b) ? a : b);
  const streamLevel = ref<LogLevel>(DEFAULT_LOG_LEVEL);
  watch(minLevel, (l) => (streamLevel.value = lower(l, streamLevel.value)));

  const needle = computed(() => text.value.trim().toLowerCase());
  const passes = (e: LogEntry) =>
    e.kind === "dropped" ||
    (levelRank(e.line.level) >= levelRank(minLevel.value) && matchesText(e.line.message, e.line.attributes, needle.value));

  /** The matching entries of what is shown (the live buffer, or the snapshot while paused). */
  const matching = computed(() => {
    void version.value;
    return (frozen.value ?? buffer).filter(passes);
  });
  const rows = computed(() => matching.value.slice(-LOG_ROWS));

  /** Matching lines that arrived since follow mode paused ("+" once more came than is kept). */
  const newSincePause = computed(() => {
    void version.value;
    const snap = frozen.value;
    if (!snap) return { count: 0, more: false };
    const last = snap.at(-1)?.seq ?? 0;
    const fresh = buffer.filter((e) => e.seq > last);
    return { count: fresh.filter(passes).length, more: (buffer[0]?.seq ?? 0) > last + 1 };
  });

  const schedule = onceAFrame(() => flush());

  function flush(): void {
    if (pending.length === 0) return;
    buffer = buffer.concat(pending);
    if (buffer.length > LOG_KEEP) buffer = buffer.slice(-LOG_KEEP);
    noteForAnnouncement(pending);
    pending = [];
    version.value++;
  }

  function push(line: LogLine, id: string | null): void {
    pending.push({ kind: "line", seq: ++seq, id, ms: Date.parse(line.timestamp), line });
    seen.value = true;
    schedule();
  }

  function dropped(d: LogDropped): void {
    pending.push({ kind: "dropped", seq: ++seq, count: d.count, message: d.message });
    seen.value = true;
    schedule();
  }

  // ---- announcements: errors and drops only, summarised, at most one per ANNOUNCE_EVERY_MS ----
  let errors = 0;
  let firstError = "";
  let drops = 0;
  let lastAnnounced = 0;
  let announceTimer: ReturnType<typeof setTimeout> | undefined;
  function noteForAnnouncement(entries: LogEntry[]): void {
    const now = Date.now();
    for (const e of entries) {
      if (e.kind === "dropped") drops += e.count;
      else if (levelRank(e.line.level) >= levelRank("error") && now - e.ms < LIVE_MS) {
        if (errors++ === 0) firstError = e.line.message;
      }
    }
    if ((errors > 0 || drops > 0) && announceTimer === undefined) {
      announceTimer = setTimeout(announce, Math.max(0, lastAnnounced + ANNOUNCE_EVERY_MS - now));
    }
  }
  function announce(): void {
    announceTimer = undefined;
    lastAnnounced = Date.now();
    const parts: string[] = [];
    if (errors === 1) parts.push(`New error log line: ${firstError.slice(0, 120)}`);
    else if (errors > 1) parts.push(`${errors} new error log lines, the first: ${firstError.slice(0, 120)}`);
    if (drops > 0) parts.push(`${drops} log lines dropped`);
    announcement.value = parts.join(". ");
    errors = drops = 0;
  }

  function pause(): void {
    if (!following.value) return;
    following.value = false;
    frozen.value = buffer;
  }
  function resume(): void {
    flush();
    following.value = true;
    frozen.value = null;
  }

  /**
   * A new stream replays its history: start again (filters and follow mode stay). Another
   * dashboard (`forget`): the panel waits for its first line.
   */
  function clear(forget = false): void {
    buffer = [];
    pending = [];
    if (forget) seen.value = false;
    if (frozen.value) frozen.value = [];
    version.value++;
  }

  if (dashboard !== undefined) {
    watch(
      () => toValue(dashboard),
      () => {
        streamLevel.value = lower(minLevel.value, DEFAULT_LOG_LEVEL);
        clear(true);
      },
      { flush: "sync" },
    );
  }
  if (getCurrentScope()) onScopeDispose(() => clearTimeout(announceTimer));

  return { seen, streamLevel, minLevel, text, following, rows, matching, newSincePause, announcement, push, dropped, pause, resume, clear };
}

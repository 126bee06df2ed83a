// Beside each alert in the feed, where it was sent: GET /api/dashboards/:id/notifications once
// alerts arrive (debounced: a burst is one request) and again while one of them is still
// pending. A dashboard without channels is asked once and then left alone, and its feed reads
// as it always did. Nothing extra travels on the stream.
import { onScopeDispose, shallowRef, toValue, watch, type MaybeRefOrGetter, type ShallowRef } from "vue";
import type { NoticeState } from "../../../contract/index.ts";
import { fetchNotifications } from "../lib/api.ts";

/** Per alert event id: each channel it went to and how it fared. */
export type Sent = Readonly<Record<string, readonly { name: string; state: NoticeState }[]>>;

const DEBOUNCE_MS = 1_000;
const PENDING_POLL_MS = 10_000;

export function useNotifications(
  dashboard: MaybeRefOrGetter<string | null>,
  alerts: MaybeRefOrGetter<readonly { id: string }[]>,
  authorization?: MaybeRefOrGetter<string | undefined>,
): Readonly<ShallowRef<Sent>> {
  const sent = shallowRef<Sent>({});
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** This dashboard has no channels: do not ask again. */
  let none = false;
  let request = 0;

  const schedule = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(load, ms);
  };

  async function load(): Promise<void> {
    const id = toValue(dashboard);
    if (!id || none) return;
    const mine = ++request;
    let answer;
    try {
      answer = await fetchNotifications(id, toValue(authorization));
    } catch {
      return; // asked again when the next alert comes
    }
    if (mine !== request) return;
    if (answer.channels.length === 0) return void (none = true);
    const next: Record<string, { name: string; state: NoticeState }[]> = {};
    for (const c of answer.channels)
      for (const [eventId, state] of Object.entries(c.alerts)) (next[eventId] ??= []).push({ name: c.name, state });
    sent.value = next;
    if (toValue(alerts).some((a) => next[a.id]?.some((s) => s.state === "pending"))) schedule(PENDING_POLL_MS);
  }

  watch(
    () => toValue(dashboard),
    () => {
      none = false;
      request++;
      clearTimeout(timer);
      sent.value = {};
    },
  );
  // The feed is newest first: a new alert (or a new stream's history) changes its first id.
  watch(
    () => toValue(alerts)[0]?.id,
    (id) => void (id && !none && schedule(DEBOUNCE_MS)),
    { immediate: true },
  );
  onScopeDispose(() => clearTimeout(timer));
  return sent;
}

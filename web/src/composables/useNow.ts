// The time, ticking: what "4 s ago", the retry countdown and the charts' idle edge count from.
import { getCurrentScope, onScopeDispose, ref, type Ref } from "vue";

export interface UseNowOptions {
  /** How often it ticks (default 1000 ms). */
  interval?: number;
}

/** Like VueUse's useNow, in epoch ms rather than a Date. */
export function useNow({ interval = 1000 }: UseNowOptions = {}): Readonly<Ref<number>> {
  const now = ref(Date.now());
  const timer = setInterval(() => (now.value = Date.now()), interval);
  if (getCurrentScope()) onScopeDispose(() => clearInterval(timer));
  return now;
}

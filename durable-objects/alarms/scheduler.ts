// An object has one alarm (ctx.storage.setAlarm); this shares it among timers. Each timer says
// when it next wants to run; the alarm is set for the earliest, and when it fires every timer
// that is due runs. The alarm is durable, so work a timer keeps in storage (the notification
// queue) goes on after an eviction, a deploy or a crash: the alarm fires, the object starts, and
// the timer finds its work where it left it.

export interface Timer {
  /** Epoch ms when it next wants to run; null when it has nothing to do. */
  due(): number | null;
  /** Runs what is due at `now`. Errors are logged, never thrown into the alarm (which would retry it). */
  run(now: number): Promise<void>;
}

export class AlarmScheduler {
  private readonly timers: { name: string; timer: Timer }[] = [];
  /** The alarm as last set here; undefined after a start (not known, so the next arm sets it). */
  private armedAt: number | null | undefined;
  private running: Promise<void> | null = null;
  /** A fire() came while one ran: run again once it is done. */
  private again = false;

  constructor(
    private readonly storage: Pick<DurableObjectStorage, "setAlarm">,
    private readonly now: () => number = () => Date.now(),
  ) {}

  add(name: string, timer: Timer): void {
    this.timers.push({ name, timer });
  }

  /**
   * A timer has work sooner than before: set the alarm for the earliest due time, unless it is
   * already set that early (a later alarm than needed is never left; an earlier one is, and finds
   * nothing to do, which costs less than moving it every time).
   */
  arm(): void {
    if (this.running) return; // fire() sets it when it is done
    let next: number | null = null;
    for (const { timer } of this.timers) {
      const due = timer.due();
      if (due !== null && (next === null || due < next)) next = due;
    }
    if (next === null) return;
    if (typeof this.armedAt === "number" && this.armedAt <= next) return;
    this.armedAt = next;
    this.storage.setAlarm(next).catch((err: unknown) => console.error("setAlarm failed", err));
  }

  /** The object's alarm() handler: runs every timer that is due, then sets the alarm for what is left. */
  async fire(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.armedAt = null; // the alarm that fired is gone
    this.running = (async () => {
      do {
        this.again = false;
        const now = this.now();
        const due = this.timers.filter(({ timer }) => (timer.due() ?? Infinity) <= now);
        await Promise.all(due.map(({ name, timer }) => timer.run(now).catch((err: unknown) => console.error(`timer ${name} failed`, err))));
      } while (this.again);
    })();
    try {
      await this.running;
    } finally {
      this.running = null;
      this.arm();
    }
  }
}

// Each health check's state, kept by the dashboard's object (its single writer): a check goes
// down after `downAfter` failed runs in a row and up again after `upAfter` good ones, and each
// change is an alert. Runs from overlapping cron invocations are counted once per interval.
import type { CheckAlert, CheckDef, CheckState, CheckStatus, HealthEvent } from "../../contract/index.ts";
import type { CheckRun } from "../../core/checks.ts";

export interface CheckRecord {
  status: CheckStatus | null;
  /** Runs in a row whose outcome disagrees with `status`. */
  streak: number;
  since: string | null;
  lastRun: HealthEvent | null;
}

export const NEW_CHECK: CheckRecord = { status: null, streak: 0, since: null, lastRun: null };

/** A check's next state after `run`, the `health` event to publish and the alert, if any. Null: a duplicate run. */
export function applyRun(
  def: CheckDef,
  record: CheckRecord,
  run: CheckRun,
): { record: CheckRecord; health: HealthEvent; alert: CheckAlert | null } | null {
  const last = record.lastRun ? Date.parse(record.lastRun.timestamp) : -Infinity;
  if (run.at < last + (def.intervalSeconds * 1000) / 2) return null;
  const timestamp = new Date(run.at).toISOString();
  let { status, streak, since } = record;
  let alert: CheckAlert | null = null;
  if (status === null) {
    // The first run decides only when it succeeds; a failure must repeat `downAfter` times.
    status = run.ok ? "up" : null;
    streak = run.ok ? 0 : streak + 1;
    if (!run.ok && streak >= def.downAfter) [status, streak] = ["down", 0];
    if (status === "down") alert = downAlert(def, run, timestamp);
    if (status !== null) since = timestamp;
  } else {
    const agrees = run.ok === (status === "up");
    streak = agrees ? 0 : streak + 1;
    if (streak >= (status === "up" ? def.downAfter : def.upAfter)) {
      status = status === "up" ? "down" : "up";
      streak = 0;
      since = timestamp;
      alert = status === "down" ? downAlert(def, run, timestamp) : upAlert(def, run, timestamp);
    }
  }
  // Fields in wire order, optional ones only when present, the timestamp last.
  const health = { name: def.name, status: status ?? (run.ok ? "up" : "down"), ok: run.ok, latencyMs: run.latencyMs } as HealthEvent;
  if (run.statusCode !== undefined) health.statusCode = run.statusCode;
  if (run.error) health.error = run.error;
  if (run.detail) health.detail = run.detail;
  health.timestamp = timestamp;
  return { record: { status, streak, since, lastRun: health }, health, alert };
}

function downAlert(def: CheckDef, run: CheckRun, timestamp: string): CheckAlert {
  return {
    level: "critical",
    check: def.name,
    status: "down",
    message: `check "${def.name}" is down: ${run.detail ?? "failed"}`,
    timestamp,
  };
}

function upAlert(def: CheckDef, run: CheckRun, timestamp: string): CheckAlert {
  return {
    level: "resolved",
    check: def.name,
    status: "up",
    message: `check "${def.name}" recovered: ${run.statusCode ?? "ok"} in ${run.latencyMs} ms`,
    timestamp,
  };
}

export function stateOf(def: CheckDef, record: CheckRecord | undefined): CheckState {
  const r = record ?? NEW_CHECK;
  return { name: def.name, url: def.url, intervalSeconds: def.intervalSeconds, status: r.status, lastRun: r.lastRun, since: r.since };
}

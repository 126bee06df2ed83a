// Health checks from the cron Worker: one run of a check with real fetch, and the loop that runs
// every check on its interval while the invocation lasts.
import type { CheckDef, CheckErrorClass, DashboardDef } from "../../contract/index.ts";
import type { CheckRun } from "../../core/checks.ts";

/** Runs `check` once with real fetch and classifies what went wrong. */
export async function runCheck(check: CheckDef, now = Date.now): Promise<CheckRun> {
  const at = now();
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(check.url, {
      method: check.method,
      signal: AbortSignal.timeout(check.timeoutMs),
      redirect: "manual",
      headers: { "User-Agent": "realtime-dashboard-health-check" },
    });
    // The status is what counts; the body is not waited for.
    await response.body?.cancel();
    const latencyMs = latency();
    if (response.status !== check.expectStatus) {
      return {
        ok: false,
        latencyMs,
        statusCode: response.status,
        error: "unexpected_status",
        detail: `expected ${check.expectStatus}, got ${response.status}`,
        at,
      };
    }
    return { ok: true, latencyMs, statusCode: response.status, at };
  } catch (err) {
    const latencyMs = latency();
    const error = classify(err);
    const detail =
      error === "timeout" ? `timeout after ${check.timeoutMs} ms` : `${error === "tls" ? "TLS" : "connection"} failed: ${message(err)}`;
    return { ok: false, latencyMs, error, detail, at };
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function classify(err: unknown): CheckErrorClass {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) return "timeout";
  if (/TLS|SSL|certificate|handshake/i.test(message(err))) return "tls";
  return "connection";
}

/**
 * Runs every check of every dashboard on its interval (on interval boundaries, so overlapping
 * cron invocations run a check at the same instants) until `end`, handing each result to `record`.
 */
export async function runChecks(
  dashboards: DashboardDef[],
  end: number,
  record: (dashboard: string, check: CheckDef, run: CheckRun) => Promise<void>,
): Promise<void> {
  const loops = dashboards.flatMap((d) =>
    d.checks.map(async (check) => {
      const every = check.intervalSeconds * 1000;
      for (let tick = Date.now(); tick < end; tick = Math.ceil((Date.now() + 1) / every) * every) {
        await sleep(tick - Date.now());
        try {
          await record(d.id, check, await runCheck(check));
        } catch (err) {
          console.error(`health check ${d.id}/${check.name} could not be recorded`, err);
        }
      }
    }),
  );
  await Promise.all(loops);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

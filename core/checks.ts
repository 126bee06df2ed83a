// Health checks as the server sees them: their definitions in DASHBOARDS (`checks`), checked at
// startup, and one run's outcome, which the cron Worker measures and the dashboard's object
// records (contract/logs.ts has what viewers see of them).
import type { CheckDef, CheckErrorClass } from "../contract/index.ts";

const CHECK_KEYS = new Set(["name", "url", "method", "expectStatus", "timeoutMs", "intervalSeconds", "downAfter", "upAfter"]);
const CHECK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9 _.-]{0,63}$/;
const METHODS = ["GET", "HEAD", "POST"] as const;

/** Checks `checks` of one dashboard; throws naming the dashboard, the check and the problem. */
export function defineChecks(dashboard: string, raw: unknown): CheckDef[] {
  const fail = (message: string): never => {
    throw new Error(`DASHBOARDS: dashboard "${dashboard}": ${message}`);
  };
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return fail("`checks` must be a list of { name, url, … }");
  if (raw.length > 20) fail(`${raw.length} checks; at most 20 per dashboard`);
  const seen = new Set<string>();
  return raw.map((item: unknown, i) => {
    if (typeof item !== "object" || item === null || Array.isArray(item))
      return fail(`checks[${i}] must be a table like { name = "api", url = "https://…" }`);
    const c = item as Record<string, unknown>;
    if (typeof c.name !== "string" || !CHECK_NAME_RE.test(c.name))
      return fail(`checks[${i}]: name ${JSON.stringify(c.name)} must match ${CHECK_NAME_RE.source}`);
    const name = c.name;
    const at = (problem: string): never => fail(`check "${name}": ${problem}`);
    if (seen.has(name)) at("is defined twice");
    seen.add(name);
    for (const key of Object.keys(c)) if (!CHECK_KEYS.has(key)) at(`unknown key "${key}" (known: ${[...CHECK_KEYS].join(", ")})`);
    let url: URL;
    try {
      url = new URL(String(c.url));
    } catch {
      return at(`url ${JSON.stringify(c.url)} is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") at(`url must be http or https, got ${url.protocol}`);
    const method = c.method ?? "GET";
    if (!METHODS.includes(method as never)) at(`method must be one of ${METHODS.join(", ")}, got ${JSON.stringify(method)}`);
    const whole = (key: string, fallback: number, min: number, max: number): number => {
      const v = c[key] ?? fallback;
      if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
        return at(`${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
      return v;
    };
    const intervalSeconds = whole("intervalSeconds", 30, 10, 3600);
    const timeoutMs = whole("timeoutMs", 5000, 100, 60_000);
    if (timeoutMs >= intervalSeconds * 1000) at(`timeoutMs ${timeoutMs} must be shorter than the interval (${intervalSeconds} s)`);
    return {
      name,
      url: url.href,
      method: method as CheckDef["method"],
      expectStatus: whole("expectStatus", 200, 100, 599),
      timeoutMs,
      intervalSeconds,
      downAfter: whole("downAfter", 2, 1, 10),
      upAfter: whole("upAfter", 2, 1, 10),
    };
  });
}

export interface CheckRun {
  ok: boolean;
  latencyMs: number;
  statusCode?: number;
  error?: CheckErrorClass;
  detail?: string;
  /** When the run started, epoch ms. */
  at: number;
}

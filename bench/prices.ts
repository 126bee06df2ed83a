// What a deployment costs a month, from measured figures (bench/cost.ts) and list prices. Prices
// as the providers' pricing pages stated them when read (PRICES_READ); update them here and rerun
// `npm run bench:cost` to refresh the tables in README.md and docs/BENCHMARKS.md.

export const PRICES_READ = "2026-12-02";

/** Cloudflare Workers Paid ($5 a month base) and Durable Objects (SQLite storage). */
export const CLOUDFLARE = {
  base: 5,
  workerRequests: { included: 10e6, perMillion: 0.3 },
  objectRequests: { included: 1e6, perMillion: 0.15 },
  /** GB-s; an object is billed at 128 MB while active or unable to hibernate (open streams). */
  duration: { included: 400_000, perMillion: 12.5, gb: 0.125 },
  rowsRead: { included: 25e9, perMillion: 0.001 },
  rowsWritten: { included: 50e6, perMillion: 1 },
  storageGbMonth: { included: 5, perGb: 0.2 },
};

/** Upstash Redis, pay as you go. */
export const UPSTASH = { perHundredThousandCommands: 0.2, storageFreeGb: 1, perGb: 0.25 };

const MONTH_S = 30 * 86_400;

/** Per dashboard, measured: what one event (1 Hz) costs, and what the history keeps. */
export interface Measured {
  rowsWrittenPerSample: number;
  rowsReadPerSample: number;
  /** Upstash only. */
  redisCommandsPerEvent: number;
  /** Bytes the dashboard's object holds after an hour (log, history). */
  storageBytes: number;
}

export interface Scenario {
  dashboards: number;
  viewers: number;
  log: "sqlite" | "upstash";
}

/** Each viewer's stream is assumed to reconnect once an hour (a deploy, a network change). */
const RECONNECTS_PER_VIEWER_MONTH = 30 * 24;

const over = (used: number, { included, perMillion }: { included: number; perMillion: number }) =>
  (Math.max(0, used - included) / 1e6) * perMillion;

/** $/month for a scenario at one sample a second per dashboard, fed through JSON ingest. */
export function monthly(s: Scenario, m: Measured): { total: number; parts: Record<string, number> } {
  const samples = s.dashboards * MONTH_S;
  const streams = s.dashboards * s.viewers * RECONNECTS_PER_VIEWER_MONTH;
  // One object per dashboard holds up to ~11,000 viewers; watched all month, it never hibernates.
  const awake = s.dashboards * (s.viewers > 0 ? 1 : 0) * MONTH_S * CLOUDFLARE.duration.gb;
  const gb = (s.dashboards * m.storageBytes) / 1e9;
  const parts: Record<string, number> = {
    "Workers Paid": CLOUDFLARE.base,
    "Worker requests": over(samples + streams, CLOUDFLARE.workerRequests),
    "object requests": over(samples + streams, CLOUDFLARE.objectRequests),
    "object duration": over(awake, CLOUDFLARE.duration),
    "rows written": over(samples * m.rowsWrittenPerSample, CLOUDFLARE.rowsWritten),
    "rows read": over(samples * m.rowsReadPerSample, CLOUDFLARE.rowsRead),
    storage: Math.max(0, gb - CLOUDFLARE.storageGbMonth.included) * CLOUDFLARE.storageGbMonth.perGb,
  };
  if (s.log === "upstash") parts.Upstash = ((samples * m.redisCommandsPerEvent) / 100_000) * UPSTASH.perHundredThousandCommands;
  return { total: Object.values(parts).reduce((a, b) => a + b, 0), parts };
}

/** The README's table: dashboards × viewers, per event log. */
export function costTable(measured: Record<"sqlite" | "upstash", Measured>): string {
  const rows = ["| dashboards at 1 Hz | viewers each | SQLite log | Upstash log |", "|---|---|---|---|"];
  for (const dashboards of [1, 10, 100]) {
    for (const viewers of [10, 1000]) {
      const cell = (log: "sqlite" | "upstash") => `$${monthly({ dashboards, viewers, log }, measured[log]).total.toFixed(2)}`;
      rows.push(`| ${dashboards} | ${viewers.toLocaleString("en")} | ${cell("sqlite")} | ${cell("upstash")} |`);
    }
  }
  return rows.join("\n");
}

// Simulated system metrics: a pure function of (seed, dashboard, second), so a run is
// reproducible from its seed and continues seamlessly across cron invocations without state.
import {
  AGGREGATE,
  isSplit,
  splitAggregate,
  type DashboardDef,
  type MetricDef,
  type MetricSample,
  type MetricUpdate,
} from "../../contract/index.ts";
import { toUpdate } from "../ingest/samples.ts";

/** The sample the publisher sends `dashboard` for the second at `tMs`. */
export function simulate(seed: string, dashboard: DashboardDef, tMs: number): MetricUpdate {
  if (dashboard.seed) return simulateSample(seed, dashboard.id, tMs);
  const t = Math.floor(tMs / 1000);
  const values: Record<string, number> = {};
  const series: Record<string, Record<string, number>> = {};
  for (const def of dashboard.metrics) {
    if (isSplit(def)) {
      // A split metric: SIMULATED_SERIES series of its own, and their aggregate (all at the same time).
      const split: Record<string, number> = {};
      for (let i = 1; i <= Math.min(SIMULATED_SERIES, def.maxSeries!); i++)
        split[`sim-${i}`] = simulateMetric(hash32(`${seed}:${dashboard.id}:${def.name}:${i}`), def, t);
      series[def.name] = split;
      values[def.name] = AGGREGATE[splitAggregate(def)](Object.values(split));
    } else values[def.name] = simulateMetric(hash32(`${seed}:${dashboard.id}:${def.name}`), def, t);
  }
  return toUpdate(dashboard, values, t * 1000, Object.keys(series).length > 0 ? series : undefined);
}

/** Series a simulated split metric has. */
export const SIMULATED_SERIES = 3;

/**
 * Any defined metric: drift and noise around a calm level on the good side of its thresholds,
 * and in about a third of 5-minute blocks an excursion of 20–60 s towards the bad side that
 * crosses warning, and usually critical. Always inside min–max.
 */
function simulateMetric(s: number, def: MetricDef, t: number): number {
  const { base, amp, excursion } = shapeOf(def);
  const noise = (period: number, salt: number) => smoothNoise(s ^ salt, t / period);
  const value = base + amp * (0.6 * noise(180, 0x11) + 0.3 * noise(20, 0x12) + 0.1 * noise(3, 0x13)) + (excursion * spike(s, t)) / 55;
  return clamp(value, def.min ?? -Infinity, def.max ?? Infinity);
}

/** Where a metric idles, how much it wanders, and how far (signed) an excursion reaches. */
function shapeOf(def: MetricDef): { base: number; amp: number; excursion: number } {
  const { warning, critical, min, max } = def;
  const sign = def.direction === "above" ? 1 : -1;
  const bad = warning ?? critical;
  if (bad === undefined) {
    // No thresholds: wander inside the bounds (or around a neutral level).
    const lo = min ?? (max !== undefined ? max - 100 : 0);
    const hi = max ?? lo + 100;
    return { base: (lo + hi) / 2, amp: (hi - lo) / 5, excursion: (hi - lo) / 4 };
  }
  const spread = warning !== undefined && critical !== undefined ? Math.abs(critical - warning) : Math.abs(bad) * 0.2 || 1;
  // Room on the good side: up to 1.5 × the warning–critical distance, less where a bound is nearer.
  const bound = sign > 0 ? min : max;
  const room = Math.min(1.5 * spread, bound !== undefined ? Math.abs(bad - bound) : Infinity) || spread;
  const base = bad - sign * room * 0.5;
  const worst = (critical ?? bad) + sign * spread * 0.2;
  return { base, amp: room * 0.3, excursion: worst - base };
}

export function simulateSample(seed: string, dashboard: string, tMs: number): MetricSample {
  const s = hash32(`${seed}:${dashboard}`);
  const t = Math.floor(tMs / 1000);
  const noise = (period: number, salt: number) => smoothNoise(s ^ salt, t / period); // [-1, 1]

  // CPU drifts around a per-dashboard base and spikes now and then (some spikes cross 80/90 %).
  const cpuBase = 30 + (s % 20);
  const cpu = cpuBase + 15 * noise(180, 0x1) + 6 * noise(20, 0x2) + 2 * noise(3, 0x3) + spike(s, t);

  // Memory climbs as the heap fills and drops when it is collected: a sawtooth with noise.
  const gcPeriod = 600 + (s % 600);
  const memory = 52 + 36 * ((t % gcPeriod) / gcPeriod) + 2 * noise(30, 0x4);

  // Requests follow a daily swing, with slower and faster wobbles on top.
  const daily = Math.sin((2 * Math.PI * (t % 86_400)) / 86_400 - Math.PI / 2);
  const rps = 1400 + 700 * daily + 200 * noise(300, 0x5) + 60 * noise(5, 0x6);
  const activeConnections = rps * 0.11 + 15 * noise(60, 0x7);

  // Errors stay low, with occasional bursts.
  const errorRate = 0.4 + 0.3 * noise(90, 0x8) + burst(s, t);

  return {
    cpu: round(clamp(cpu, 0.5, 100), 1),
    memory: round(clamp(memory, 1, 100), 1),
    rps: Math.round(Math.max(0, rps)),
    activeConnections: Math.round(Math.max(0, activeConnections)),
    errorRate: round(clamp(errorRate, 0, 100), 2),
    timestamp: new Date(t * 1000).toISOString(),
  };
}

/** In roughly a third of 5-minute blocks, a 20–60 s CPU spike of +30–55 points. */
function spike(s: number, t: number): number {
  const block = Math.floor(t / 300);
  const r = hash32(`${s}:spike:${block}`);
  if (r % 3 !== 0) return 0;
  const start = (r >>> 4) % 240;
  const length = 20 + ((r >>> 12) % 40);
  const at = (t % 300) - start;
  if (at < 0 || at >= length) return 0;
  const height = 30 + ((r >>> 20) % 25);
  return height * Math.sin((Math.PI * at) / length); // ramps up and down
}

/** In one 10-minute block out of eight, a short burst of errors up to ~6 %. */
function burst(s: number, t: number): number {
  const block = Math.floor(t / 600);
  const r = hash32(`${s}:burst:${block}`);
  if (r % 8 !== 0) return 0;
  const at = (t % 600) - ((r >>> 5) % 500);
  return at >= 0 && at < 40 ? (2 + ((r >>> 10) % 40) / 10) * Math.sin((Math.PI * at) / 40) : 0;
}

/** Value noise: a seeded random value at each integer, cosine-interpolated between them. */
function smoothNoise(seed: number, x: number): number {
  const i = Math.floor(x);
  const f = x - i;
  const a = unit(hash32(`${seed}:${i}`));
  const b = unit(hash32(`${seed}:${i + 1}`));
  const w = (1 - Math.cos(Math.PI * f)) / 2;
  return (a + (b - a) * w) * 2 - 1;
}

/** FNV-1a, then a murmur-style finaliser so nearby inputs give unrelated outputs. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const unit = (h: number) => h / 0x1_0000_0000;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round = (v: number, decimals: number): number => Math.round(v * 10 ** decimals) / 10 ** decimals;

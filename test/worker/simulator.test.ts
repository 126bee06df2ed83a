import { describe, expect, it } from "vitest";
import { DEFAULT_METRICS, evaluateAlerts, type AlertState } from "../../contract/index.ts";
import { simulateSample } from "../../core/simulation/metrics.ts";

const start = Date.parse("2026-11-21T00:00:00Z");

describe("simulated metrics", () => {
  it("are reproducible from the seed and differ between seeds and dashboards", () => {
    const a = simulateSample("42", "demo", start + 5000);
    expect(simulateSample("42", "demo", start + 5000)).toEqual(a);
    expect(simulateSample("43", "demo", start + 5000)).not.toEqual(a);
    expect(simulateSample("42", "edge-cache", start + 5000)).not.toEqual(a);
  });

  it("have the contract's shape, ranges and precision", () => {
    for (let t = 0; t < 3600; t += 7) {
      const s = simulateSample("42", "demo", start + t * 1000);
      expect(s.timestamp).toBe(new Date(start + t * 1000).toISOString());
      for (const pct of [s.cpu, s.memory]) {
        expect(pct).toBeGreaterThanOrEqual(0);
        expect(pct).toBeLessThanOrEqual(100);
        expect(Math.round(pct * 10) / 10).toBe(pct);
      }
      expect(Number.isInteger(s.rps) && s.rps >= 0).toBe(true);
      expect(Number.isInteger(s.activeConnections) && s.activeConnections >= 0).toBe(true);
      expect(Math.round(s.errorRate * 100) / 100).toBe(s.errorRate);
    }
  });

  it("walk smoothly from second to second, swing over a day and raise some alerts", () => {
    let state: AlertState = {};
    let alerts = 0;
    let prev = simulateSample("42", "demo", start);
    let maxStep = 0;
    let minRps = Infinity;
    let maxRps = 0;
    for (let t = 1; t < 86_400; t++) {
      const s = simulateSample("42", "demo", start + t * 1000);
      maxStep = Math.max(maxStep, Math.abs(s.memory - prev.memory) < 20 ? Math.abs(s.cpu - prev.cpu) : 0);
      minRps = Math.min(minRps, s.rps);
      maxRps = Math.max(maxRps, s.rps);
      const r = evaluateAlerts(s, { seed: true, metrics: [...DEFAULT_METRICS] }, state);
      state = r.state;
      alerts += r.alerts.length;
      prev = s;
    }
    expect(maxStep).toBeLessThan(15); // drifts and spikes ramp, no teleporting
    expect(maxRps - minRps).toBeGreaterThan(800); // the daily swing
    expect(alerts).toBeGreaterThan(10); // spikes do cross thresholds...
    expect(alerts).toBeLessThan(2000); // ...without flooding
  });
});

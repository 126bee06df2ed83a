import { describe, expect, it } from "vitest";
import { DEFAULT_METRICS, evaluateAlerts, type AlertState } from "../../contract/index.ts";
import { sample } from "./helpers.ts";

const SEED = { seed: true, metrics: [...DEFAULT_METRICS] };

function run(values: number[], metric: "cpu" | "errorRate" = "cpu") {
  let state: AlertState = {};
  const levels: string[] = [];
  for (const v of values) {
    const result = evaluateAlerts(sample({ [metric]: v }), SEED, state);
    state = result.state;
    levels.push(result.alerts.map((a: { level: string; threshold: number }) => `${a.level}@${a.threshold}`).join(",") || "-");
  }
  return levels;
}

describe("alert rules", () => {
  it("raises on crossing a threshold, escalates, steps down and resolves", () => {
    expect(run([50, 81, 85, 91, 95, 84, 70])).toEqual([
      "-",
      "warning@80",
      "-",
      "critical@90",
      "-",
      "warning@80", // below 90 − 5 hysteresis
      "resolved@80",
    ]);
  });

  it("does not flood when a value hovers at a threshold (hysteresis)", () => {
    expect(run([79.9, 80, 79.9, 80.1, 77, 80.2, 76, 74.9])).toEqual(["-", "warning@80", "-", "-", "-", "-", "-", "resolved@80"]);
    expect(run([89.9, 90, 89, 90.5, 86])).toEqual(["warning@80", "critical@90", "-", "-", "-"]);
  });

  it("tracks each metric on its own and carries value, message and timestamp", () => {
    const s = sample({ cpu: 92, errorRate: 6.25 });
    const { alerts, state } = evaluateAlerts(s, SEED, {});
    expect(state).toEqual({ cpu: "critical", errorRate: "critical" });
    expect(alerts).toEqual([
      {
        level: "critical",
        metric: "cpu",
        value: 92,
        threshold: 90,
        message: "CPU 92% is above critical threshold 90%",
        timestamp: s.timestamp,
      },
      {
        level: "critical",
        metric: "errorRate",
        value: 6.25,
        threshold: 5,
        message: "Error rate 6.25% is above critical threshold 5%",
        timestamp: s.timestamp,
      },
    ]);
  });

  it("never alerts on metrics without thresholds", () => {
    expect(evaluateAlerts(sample({ rps: 1e9, activeConnections: 1e9 }), SEED, {}).alerts).toEqual([]);
  });
});

// Hand-built OTLP/JSON metric requests for the route tests (what the SDK never sends: chosen times, resets).
type Attrs = Record<string, string | number>;
export const kv = (attrs: Attrs) =>
  Object.entries(attrs).map(([key, v]) => ({ key, value: typeof v === "number" ? { intValue: String(v) } : { stringValue: v } }));
export const dp = (value: number, timeMs: number, attrs: Attrs = {}, startMs?: number) => ({
  attributes: kv(attrs),
  timeUnixNano: String(BigInt(timeMs) * 1_000_000n),
  ...(startMs === undefined ? {} : { startTimeUnixNano: String(BigInt(startMs) * 1_000_000n) }),
  asDouble: value,
});
export const gauge = (name: string, dataPoints: object[]) => ({ name, gauge: { dataPoints } });
export const counter = (name: string, dataPoints: object[], temporality: 1 | 2 = 2) => ({
  name,
  sum: { aggregationTemporality: temporality, isMonotonic: true, dataPoints },
});
export const request = (...ms: object[]) =>
  JSON.stringify({ resourceMetrics: [{ resource: { attributes: kv({ "service.name": "svc" }) }, scopeMetrics: [{ metrics: ms }] }] });

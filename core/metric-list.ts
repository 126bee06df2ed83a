// `?metrics=a,b`, as the stream and the history routes take it: names of the dashboard's metrics.

/**
 * The chosen names in the dashboard's definition order, or an error naming what is unknown (an
 * empty list names itself). The message is what the route's 400 says.
 */
export function parseMetricList(raw: string, defined: readonly string[]): { names: string[] } | { error: string } {
  const asked = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = asked.length === 0 ? [raw] : asked.filter((n) => !defined.includes(n));
  if (unknown.length > 0) {
    return { error: `metrics: unknown metric ${unknown.map((m) => JSON.stringify(m)).join(", ")}; known: ${defined.join(", ")}` };
  }
  return { names: defined.filter((m) => asked.includes(m)) };
}

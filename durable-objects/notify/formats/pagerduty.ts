// A `pagerduty` channel: PagerDuty Events API v2
// (https://developer.pagerduty.com/docs/events-api-v2-overview), one event per transition. A
// raise is a `trigger` and its return a `resolve` with the same `dedup_key` (dashboard + metric
// or check, + series), so the resolve closes the incident the trigger opened and a trigger
// repeated (a retry, a change of level) joins it instead of opening another.
import type { Notice } from "../notice.ts";
import { truncate, type Sender } from "./text.ts";
import { webhookPayload } from "./webhook.ts";

/** PagerDuty's limits: dedup_key 255 characters, summary 1024. */
const MAX_DEDUP_KEY = 255;
const MAX_SUMMARY = 1024;

/** The incident's key: `<dashboard>/metric:<name>[/<series>]` or `<dashboard>/check:<name>`. */
export function dedupKey(dashboard: string, n: Notice): string {
  const subject = n.type === "test" ? "test" : n.check !== undefined ? `check:${n.check}` : `metric:${n.metric ?? ""}`;
  const key = [dashboard, subject, ...(n.series !== undefined ? [n.series] : [])].join("/");
  return key.length <= MAX_DEDUP_KEY ? key : `${key.slice(0, MAX_DEDUP_KEY - 9)}~${fnv1a(key)}`;
}

/** The event for notice `n` (a test: a trigger of severity info, and a resolve). */
export function pagerDutyEvent(routingKey: string, sender: Sender, n: Notice): Record<string, unknown> {
  const dedup_key = dedupKey(sender.dashboard, n);
  if (n.level === "resolved") return { routing_key: routingKey, event_action: "resolve", dedup_key };
  const event: Record<string, unknown> = {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key,
    payload: {
      summary: truncate(`${sender.dashboardName}: ${n.message}`, MAX_SUMMARY),
      source: sender.dashboard,
      severity: n.type === "test" ? "info" : n.level,
      timestamp: n.at,
      component: n.check ?? n.metric ?? "notifications",
      group: sender.dashboard,
      class: n.type === "test" ? "test" : n.check !== undefined ? "check" : "metric",
      custom_details: webhookPayload(sender, n).data,
    },
    client: "realtime-dashboard",
  };
  if (sender.url) {
    event.client_url = sender.url;
    event.links = [{ href: sender.url, text: `${sender.dashboardName} dashboard` }];
  }
  return event;
}

/** FNV-1a, 32 bits, hex: a long key's tail, kept distinct. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

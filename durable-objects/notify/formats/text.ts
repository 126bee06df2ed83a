// What every chat message says, whatever the service: a headline, one line per transition, and
// the cuts that keep a message within a service's limits. Pure: the formats and the tests use it.
import type { Notice } from "../notice.ts";

/** Who sends: the dashboard, and its page when PUBLIC_URL is set. */
export interface Sender {
  dashboard: string;
  dashboardName: string;
  url?: string;
}

/** What one queued message holds. */
export interface Message {
  /** Standard Webhooks' `webhook-id`: the same on every attempt. */
  id: string;
  notices: Notice[];
  /** Earlier transitions of this message left out (a chat message shows the newest few). */
  omitted: number;
}

const ICON = { critical: "🔴", warning: "🟠", resolved: "✅" } as const;

export const icon = (n: Notice): string => (n.type === "test" ? "🔔" : ICON[n.level]);

/** "Critical", "Resolved", "Down", "Still critical"… */
export function kindOf(n: Notice): string {
  switch (n.type) {
    case "alert.raised":
      return n.level === "critical" ? "Critical" : "Warning";
    case "alert.resolved":
      return "Resolved";
    case "alert.reminder":
      return n.check ? "Still down" : `Still ${n.level}`;
    case "check.down":
      return "Down";
    case "check.up":
      return "Up";
    case "test":
      return "Test";
  }
}

/** What the notice is about: "p95 latency", "p95 latency · host-a", "check api". */
export function subjectLine(n: Notice): string {
  if (n.check !== undefined) return `check ${n.check}`;
  const name = n.label ?? n.metric ?? "";
  return n.series !== undefined ? `${name} · ${n.series}` : name;
}

/** The notice as one line: its message, and since when for a reminder. */
export function detail(n: Notice): string {
  return n.since ? `${n.message} (since ${clock(n.since)})` : n.message;
}

/** One notice: "🔴 Checkout API: <message>"; several: "Checkout API: 3 changes (2 critical, 1 resolved)". */
export function headline(sender: Sender, message: Message): string {
  const { notices, omitted } = message;
  if (notices.length === 1 && omitted === 0) return `${icon(notices[0]!)} ${sender.dashboardName}: ${detail(notices[0]!)}`;
  const counts = new Map<string, number>();
  for (const n of notices) counts.set(n.level, (counts.get(n.level) ?? 0) + 1);
  const parts = ["critical", "warning", "resolved"].filter((l) => counts.has(l)).map((l) => `${counts.get(l)} ${l}`);
  const total = notices.length + omitted;
  return `${sender.dashboardName}: ${total} changes (${parts.join(", ")}${omitted > 0 ? `, ${omitted} earlier not shown` : ""})`;
}

/** "10:04:05 UTC": a reader anywhere can place it. */
export function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(11, 19)} UTC`;
}

/** `text` cut to at most `max` UTF-16 units, ending in "…" when cut (never inside a surrogate pair). */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** `raw` escaped by `escape` and cut so the escaped text fits `max`. */
export function fit(raw: string, max: number, escape: (s: string) => string): string {
  let limit = max;
  for (;;) {
    const out = escape(truncate(raw, limit));
    if (out.length <= max || limit <= 1) return out;
    limit = Math.max(1, limit - (out.length - max));
  }
}

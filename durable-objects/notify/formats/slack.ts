// A `slack` channel: an incoming webhook (https://api.slack.com/messaging/webhooks) with `text`
// (what the phone's notification shows) and Block Kit `blocks`: a header, a section per
// transition, a context line, and a button to the dashboard when PUBLIC_URL is set. Within
// Slack's limits: 50 blocks, a header's text 150 characters, a section's 3000.
import type { Message, Sender } from "./text.ts";
import { clock, detail, fit, headline, icon, kindOf, subjectLine, truncate } from "./text.ts";

const MAX_HEADER = 150;
const MAX_SECTION = 3000;
const MAX_TEXT = 3000;

/** Slack's mrkdwn treats these three as control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
const escape = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

export function slackMessage(sender: Sender, message: Message): Record<string, unknown> {
  const title = headline(sender, message);
  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: truncate(title, MAX_HEADER), emoji: true } },
  ];
  for (const n of message.notices) {
    const head = `${icon(n)} *${escape(kindOf(n))}* · ${escape(subjectLine(n))}\n`;
    blocks.push({ type: "section", text: { type: "mrkdwn", text: head + fit(detail(n), MAX_SECTION - head.length, escape) } });
  }
  const last = message.notices[message.notices.length - 1];
  const context = [`*${escape(sender.dashboardName)}*`, last ? clock(last.at) : ""];
  if (message.omitted > 0) context.push(`${message.omitted} earlier changes not shown`);
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: fit(context.filter(Boolean).join(" · "), MAX_SECTION, (s) => s) }] });
  if (sender.url) {
    blocks.push({ type: "actions", elements: [{ type: "button", text: { type: "plain_text", text: "Open dashboard" }, url: sender.url }] });
  }
  return { text: fit(title, MAX_TEXT, escape), blocks };
}

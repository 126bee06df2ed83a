// A `teams` channel: a Microsoft Teams Workflows webhook ("Post to a channel when a webhook
// request is received"), which takes a message whose attachment is an Adaptive Card
// (https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-reference#adaptive-card):
// a bold headline, a line per transition coloured by level, the dashboard and time, and an
// "Open dashboard" action when PUBLIC_URL is set. Version 1.4, which Teams renders on phones.
import type { Message, Sender } from "./text.ts";
import { clock, detail, headline, icon, kindOf, subjectLine, truncate } from "./text.ts";

export const ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive";
/** Teams refuses messages past about 28 KB: every line is cut well inside that. */
const MAX_LINE = 1000;
const COLOR = { critical: "Attention", warning: "Warning", resolved: "Good" } as const;

export function teamsMessage(sender: Sender, message: Message): Record<string, unknown> {
  const body: Record<string, unknown>[] = [
    { type: "TextBlock", text: truncate(headline(sender, message), MAX_LINE), weight: "Bolder", size: "Medium", wrap: true },
  ];
  for (const n of message.notices) {
    body.push({
      type: "TextBlock",
      text: truncate(`${icon(n)} **${kindOf(n)}** · ${subjectLine(n)}: ${detail(n)}`, MAX_LINE),
      wrap: true,
      color: n.type === "test" ? "Accent" : COLOR[n.level],
    });
  }
  const last = message.notices[message.notices.length - 1];
  const footer = [sender.dashboardName, last ? clock(last.at) : ""];
  if (message.omitted > 0) footer.push(`${message.omitted} earlier changes not shown`);
  body.push({ type: "TextBlock", text: truncate(footer.filter(Boolean).join(" · "), MAX_LINE), isSubtle: true, size: "Small", wrap: true });
  const card: Record<string, unknown> = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
    body,
  };
  if (sender.url) card.actions = [{ type: "Action.OpenUrl", title: "Open dashboard", url: sender.url }];
  return { type: "message", attachments: [{ contentType: ADAPTIVE_CARD, contentUrl: null, content: card }] };
}

// A `discord` channel: an execute-webhook request (https://discord.com/developers/docs/resources/webhook)
// with `content` (the notification's text) and an embed per transition, coloured by level,
// within Discord's limits: content 2000 characters, 10 embeds, a title 256, a description 4096,
// a footer 2048, and 6000 for all the embeds' text together. No mentions are parsed: an alert
// message cannot ping @everyone.
import type { Message, Sender } from "./text.ts";
import { clock, detail, headline, icon, kindOf, subjectLine, truncate } from "./text.ts";

export const DISCORD_LIMITS = { content: 2000, embeds: 10, title: 256, description: 4096, footer: 2048, total: 6000 } as const;
const COLOR = { critical: 0xd93025, warning: 0xf29900, resolved: 0x188038 } as const;
const TEST_COLOR = 0x5865f2;

export function discordMessage(sender: Sender, message: Message): Record<string, unknown> {
  const notices = message.notices.slice(-DISCORD_LIMITS.embeds);
  const omitted = message.omitted + message.notices.length - notices.length;
  const footer = truncate(sender.dashboardName, DISCORD_LIMITS.footer);
  const titles = notices.map((n) => truncate(`${icon(n)} ${kindOf(n)}: ${subjectLine(n)}`, DISCORD_LIMITS.title));
  // What is left of the 6000 for the descriptions (the footer is on the last embed only), shared evenly.
  const left = DISCORD_LIMITS.total - footer.length - titles.reduce((sum, t) => sum + t.length, 0);
  const each = Math.min(DISCORD_LIMITS.description, Math.floor(left / Math.max(1, notices.length)));
  const embeds = notices.map((n, i) => {
    const embed: Record<string, unknown> = {
      title: titles[i],
      description: truncate(detail(n), each),
      color: n.type === "test" ? TEST_COLOR : COLOR[n.level],
      timestamp: n.at,
    };
    if (sender.url) embed.url = sender.url;
    if (i === notices.length - 1) embed.footer = { text: footer };
    return embed;
  });
  let content = headline(sender, { ...message, notices, omitted });
  if (sender.url) content += `\n<${sender.url}>`;
  const last = notices[notices.length - 1];
  if (last && notices.length > 1) content += ` · ${clock(last.at)}`;
  return { content: truncate(content, DISCORD_LIMITS.content), embeds, allowed_mentions: { parse: [] } };
}

// A queued message as the HTTP request its channel's service takes: the body in that service's
// shape, and, for a `webhook`, the Standard Webhooks signature of this attempt.
import type { NotifyChannel } from "../../../core/config/index.ts";
import { discordMessage } from "./discord.ts";
import { pagerDutyEvent } from "./pagerduty.ts";
import { slackMessage } from "./slack.ts";
import { teamsMessage } from "./teams.ts";
import type { Message, Sender } from "./text.ts";
import { signatureHeaders, webhookPayload } from "./webhook.ts";

export type { Message, Sender } from "./text.ts";

/** Services that take several transitions in one message (grouped for a few seconds). */
export const isChat = (channel: Pick<NotifyChannel, "type">): boolean =>
  channel.type === "slack" || channel.type === "discord" || channel.type === "teams";

export interface OutgoingRequest {
  body: string;
  headers: Record<string, string>;
}

/** The request for `message` on `channel`, attempted at `nowMs`. A webhook or pagerduty message holds one notice. */
export async function render(channel: NotifyChannel, sender: Sender, message: Message, nowMs: number): Promise<OutgoingRequest> {
  const headers = { "Content-Type": "application/json" };
  switch (channel.type) {
    case "slack":
      return { body: JSON.stringify(slackMessage(sender, message)), headers };
    case "discord":
      return { body: JSON.stringify(discordMessage(sender, message)), headers };
    case "teams":
      return { body: JSON.stringify(teamsMessage(sender, message)), headers };
    case "pagerduty":
      return { body: JSON.stringify(pagerDutyEvent(channel.routingKey!, sender, message.notices[0]!)), headers };
    case "webhook": {
      const body = JSON.stringify(webhookPayload(sender, message.notices[0]!));
      return { body, headers: { ...headers, ...(await signatureHeaders(channel.secret!, message.id, body, nowMs)) } };
    }
  }
}

/**
 * Notifications by webhook: a Slack-compatible incoming-webhook message (`{ text, blocks }`, which
 * Slack, Mattermost, Rocket.Chat and most chat bridges accept). Delivery is retried by Temporal:
 * network errors, timeouts, 5xx, 408 and 429 are retryable; any other 4xx means the URL or the
 * message is wrong and is final.
 */
import { ApplicationFailure } from '@temporalio/activity';

export interface WebhookMessage {
  url: string;
  /** Plain-text fallback and notification preview. */
  text: string;
  /** Markdown (Slack mrkdwn) sections shown under the headline. */
  sections?: string[];
  /** Short facts shown as a context line, e.g. `gate cg:credit:v3`. */
  context?: string[];
}

export const WEBHOOK_REJECTED = 'WebhookRejected';

export function slackPayload(message: Omit<WebhookMessage, 'url'>): { text: string; blocks: unknown[] } {
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: message.text.slice(0, 3000) } }];
  for (const section of message.sections ?? []) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section.slice(0, 3000) } });
  if (message.context?.length) blocks.push({ type: 'context', elements: message.context.slice(0, 10).map((text) => ({ type: 'mrkdwn', text })) });
  return { text: message.text, blocks };
}

export async function postWebhook(message: WebhookMessage): Promise<{ status: number }> {
  let url: URL;
  try {
    url = new URL(message.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw ApplicationFailure.nonRetryable(`Webhook URL "${message.url}" is not an http(s) URL`, WEBHOOK_REJECTED);
  }
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(slackPayload(message)),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await response.text().catch(() => '')).slice(0, 300);
  if (response.ok) return { status: response.status };
  const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
  const text = `Webhook ${url.host} answered ${response.status}${body ? `: ${body}` : ''}`;
  if (retryable) throw ApplicationFailure.retryable(text, 'WebhookUnavailable');
  throw ApplicationFailure.nonRetryable(text, WEBHOOK_REJECTED);
}

export const notifyActivities = {
  /** Posts one notification; Temporal retries it while the receiver is unavailable. */
  async notifyWebhook(message: WebhookMessage): Promise<{ status: number }> {
    return postWebhook(message);
  },
};

/**
 * Canary notifications: a JSON POST to the webhook the input names (Slack-compatible `text`, plus
 * the structured event). A webhook that does not accept it fails the attempt, so Temporal retries.
 */
export interface CanaryNotification {
  event: 'rolled-back' | 'aborted' | 'paused' | 'promoted';
  deploymentId: string;
  model: string;
  candidateVersion: number;
  baselineVersion: number | null;
  reason: string;
  by: string;
}

export async function sendNotification(webhookUrl: string | undefined, notification: CanaryNotification): Promise<{ delivered: boolean; to: string | null }> {
  if (!webhookUrl) return { delivered: false, to: null };
  const text = `Canary ${notification.deploymentId}: ${notification.model} v${notification.candidateVersion} ${notification.event} (${notification.reason}) by ${notification.by}`;
  const response = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text, ...notification }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`the webhook ${new URL(webhookUrl).origin} answered ${response.status}`);
  return { delivered: true, to: new URL(webhookUrl).origin };
}

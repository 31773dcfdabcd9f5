/**
 * The webhook bodies the coreapp enqueues, in On-Prem's form (reference/onprem-api.md §4), and their
 * event ids. An event id names the fact, not the delivery: a status of a message is
 * `status:<message id>:<status>` and an inbound message `message:<inbound id>`, so an event the network
 * redelivers, or a status implied twice, is enqueued once (the callback store de-duplicates by id).
 */
import type { ApplicationSettings } from '../../core/app-settings.js';
import type { MessageStatus } from '../../ports/message-store.js';
import type { MessageEvent, SimErrorObject } from '../../core/upstream-protocol.js';

export type WebhookStatus = Exclude<MessageStatus, 'accepted'>;

export interface StatusFact {
  readonly id: string;
  readonly recipientId: string;
  readonly status: WebhookStatus;
  /** Unix seconds, as a string (On-Prem's form). */
  readonly timestamp: string;
  readonly errors?: readonly SimErrorObject[];
}

export function statusEventId(messageId: string, status: WebhookStatus): string {
  return `status:${messageId}:${status}`;
}

export function messageEventId(inboundId: string): string {
  return `message:${inboundId}`;
}

/** `{"statuses":[{id, recipient_id, status, timestamp, errors?}]}` */
export function statusPayload(fact: StatusFact): string {
  const status: Record<string, unknown> = { id: fact.id, recipient_id: fact.recipientId, status: fact.status, timestamp: fact.timestamp };
  if (fact.errors !== undefined && fact.errors.length > 0) status['errors'] = fact.errors.map((e) => ({ code: e.code, title: e.title, details: e.details }));
  return JSON.stringify({ statuses: [status] });
}

/** The inbound message as the webhook carries it: `{from, id, timestamp, type, text}`. */
export function inboundMessage(event: MessageEvent): Record<string, unknown> {
  return { from: event.from, id: event.id, timestamp: event.timestamp, type: event.type, text: { body: event.text.body } };
}

/** `{"contacts":[{profile:{name}, wa_id}], "messages":[{from, id, timestamp, type:"text", text:{body}}]}` */
export function inboundPayload(event: MessageEvent): string {
  return JSON.stringify({ contacts: [{ profile: { name: event.profile.name }, wa_id: event.from }], messages: [inboundMessage(event)] });
}

/** Whether a status becomes a webhook: per `webhooks.message.<status>`; `failed` always does. */
export function wantsStatusWebhook(settings: ApplicationSettings, status: WebhookStatus): boolean {
  return status === 'failed' || settings.webhooks.message[status];
}

export function unixSeconds(nowMs: number): string {
  return String(Math.floor(nowMs / 1000));
}

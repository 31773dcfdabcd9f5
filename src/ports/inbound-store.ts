/**
 * Inbound messages from users to the business, recorded once per upstream message id before the
 * coreapp acknowledges them upstream (so a crash between the two re-delivers, never loses).
 */
export type InboundStatus = 'received' | 'read';

export interface NewInboundMessage {
  /** The upstream's message id (unique). */
  readonly id: string;
  readonly shard: number;
  /** Digits-only wa_id of the sender. */
  readonly sender: string;
  /** The message as JSON text. */
  readonly payload: string;
  readonly receivedAtMs: number;
}

export interface StoredInboundMessage extends NewInboundMessage {
  readonly seq: number;
  readonly status: InboundStatus;
}

export interface InboundStore {
  /** Records the message; `created` is false when the id was already recorded (a redelivery). */
  insert(message: NewInboundMessage): Promise<{ readonly message: StoredInboundMessage; readonly created: boolean }>;
  get(id: string): Promise<StoredInboundMessage | null>;
  /** Marks the message read (`PUT /v1/messages/{id}`); false if unknown. Idempotent. */
  markRead(id: string): Promise<boolean>;
}

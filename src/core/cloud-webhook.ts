/**
 * The WhatsApp Cloud API webhook body (`{"object":"whatsapp_business_account","entry":[{changes:
 * [{field:"messages",value:{metadata,contacts,messages,statuses}}]}]}`) taken apart into events, one
 * per status and per inbound message, each with a stable event id (the fact, not the delivery), so
 * a webhook the Cloud API delivers twice is stored once. Pure; anything malformed is skipped and
 * counted, never thrown, because the webhook must still be answered 200 (Meta retries otherwise).
 */
import { shardCountMax } from './limits.js';
import { murmur3X86_32, utf8Bytes } from './shard-hash.js';

export type CloudStatus = 'sent' | 'delivered' | 'read' | 'failed';

export interface CloudStatusEvent {
  readonly kind: 'status';
  /** `status:<wamid>:<status>`. */
  readonly eventId: string;
  readonly wamid: string;
  readonly status: CloudStatus;
  readonly recipientId: string;
  /** Unix seconds as a string. */
  readonly timestamp: string;
  /** `biz_opaque_callback_data` as sent: our message id. */
  readonly opaque: string | null;
  readonly errors: readonly { readonly code: number; readonly title: string; readonly details: string }[];
}

export interface CloudInboundEvent {
  readonly kind: 'message';
  /** `message:<wamid>`. */
  readonly eventId: string;
  readonly wamid: string;
  readonly from: string;
  readonly timestamp: string;
  readonly type: string;
  /** The text body of a `text` message (null for other types). */
  readonly text: string | null;
  /** The sender's profile name from `contacts` (empty when absent). */
  readonly name: string;
}

export type CloudWebhookEvent = CloudStatusEvent | CloudInboundEvent;

export interface ParsedCloudWebhook {
  readonly events: readonly CloudWebhookEvent[];
  /** Statuses and messages that were not understood (skipped). */
  readonly skipped: number;
}

const STATUSES: ReadonlySet<string> = new Set(['sent', 'delivered', 'read', 'failed']);
const DIGITS = /^[0-9]{1,20}$/;

/** Takes a parsed webhook body apart; `body` is whatever JSON.parse returned. */
export function parseCloudWebhook(body: unknown): ParsedCloudWebhook {
  const events: CloudWebhookEvent[] = [];
  let skipped = 0;
  for (const value of changeValues(body)) {
    const names = contactNames(value['contacts']);
    for (const raw of arrayOf(value['statuses'])) {
      const event = statusEvent(raw);
      if (event === null) skipped += 1;
      else events.push(event);
    }
    for (const raw of arrayOf(value['messages'])) {
      const event = inboundEvent(raw, names);
      if (event === null) skipped += 1;
      else events.push(event);
    }
  }
  return { events, skipped };
}

/**
 * The contact an event is ordered by and routed with: the recipient of a status, the sender of an
 * inbound message (DESIGN.md §2.7).
 */
export function cloudEventContact(event: CloudWebhookEvent): string {
  return event.kind === 'status' ? event.recipientId : event.from;
}

/**
 * The contact's bucket: its shard hash modulo the largest shard count. For every shard count n
 * (a power of two dividing it) the shard is `bucket % n`, so a stored bucket routes an event to the
 * right shard whatever the shard count is when it is read.
 */
export function cloudEventBucket(contact: string): number {
  return murmur3X86_32(utf8Bytes(contact), 0) % shardCountMax;
}

/** The buckets of shard `shard` of `shards`. */
export function bucketsOfShard(shard: number, shards: number): number[] {
  const out: number[] = [];
  for (let b = shard; b < shardCountMax; b += shards) out.push(b);
  return out;
}

function changeValues(body: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (!isObject(body)) return out;
  for (const entry of arrayOf(body['entry'])) {
    if (!isObject(entry)) continue;
    for (const change of arrayOf(entry['changes'])) {
      if (isObject(change) && isObject(change['value']) && (change['field'] === undefined || change['field'] === 'messages')) out.push(change['value']);
    }
  }
  return out;
}

function contactNames(contacts: unknown): Map<string, string> {
  const names = new Map<string, string>();
  for (const c of arrayOf(contacts)) {
    if (!isObject(c) || typeof c['wa_id'] !== 'string') continue;
    const profile = c['profile'];
    names.set(c['wa_id'], isObject(profile) && typeof profile['name'] === 'string' ? profile['name'] : '');
  }
  return names;
}

function statusEvent(raw: unknown): CloudStatusEvent | null {
  if (!isObject(raw)) return null;
  const { id, status, recipient_id: recipientId, timestamp } = raw;
  if (typeof id !== 'string' || id === '' || typeof status !== 'string' || !STATUSES.has(status)) return null;
  if (typeof recipientId !== 'string' || !DIGITS.test(recipientId)) return null;
  const opaque = typeof raw['biz_opaque_callback_data'] === 'string' ? raw['biz_opaque_callback_data'] : null;
  return {
    kind: 'status',
    eventId: `status:${id}:${status}`,
    wamid: id,
    status: status as CloudStatus,
    recipientId,
    timestamp: timestampOf(timestamp),
    opaque,
    errors: arrayOf(raw['errors']).filter(isObject).map((e) => ({
      code: typeof e['code'] === 'number' ? e['code'] : 0,
      title: typeof e['title'] === 'string' ? e['title'] : typeof e['message'] === 'string' ? e['message'] : '',
      details: isObject(e['error_data']) && typeof e['error_data']['details'] === 'string' ? e['error_data']['details'] : '',
    })),
  };
}

function inboundEvent(raw: unknown, names: ReadonlyMap<string, string>): CloudInboundEvent | null {
  if (!isObject(raw)) return null;
  const { id, from, timestamp, type } = raw;
  if (typeof id !== 'string' || id === '' || typeof from !== 'string' || !DIGITS.test(from) || typeof type !== 'string') return null;
  const text = type === 'text' && isObject(raw['text']) && typeof raw['text']['body'] === 'string' ? raw['text']['body'] : null;
  return { kind: 'message', eventId: `message:${id}`, wamid: id, from, timestamp: timestampOf(timestamp), type, text, name: names.get(from) ?? '' };
}

function timestampOf(value: unknown): string {
  if (typeof value === 'string' && /^[0-9]{1,12}$/.test(value)) return value;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return String(value);
  return '0';
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses one text frame from a coreapp into a `ClientFrame`, checking everything the frame itself
 * must satisfy (shape, types, documented limits). A failure is a protocol error: the simulator
 * closes the connection with `protocol_error` and the returned details. Per-message problems inside
 * a valid `send` frame are not protocol errors; `parseSendMessage` reports them as `rejected`.
 */
import { messageIdLengthMax, nodeIdLengthMax, simAckBatchEventsMax, simSendBatchMessagesMax, waIdLengthMax } from '../core/limits.js';
import { isShardCount } from '../core/shard-hash.js';
import type { ClientFrame, SendMessage } from '../core/upstream-protocol.js';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly details: string };

const WA_ID = /^[0-9]{1,20}$/;

function fail(details: string): { ok: false; details: string } {
  return { ok: false, details };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEpoch(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** True for a digits-only wa_id of 1–20 digits. */
export function isWaId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= waIdLengthMax && WA_ID.test(value);
}

export function parseClientFrame(text: string): Parsed<ClientFrame> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('frame is not valid JSON');
  }
  if (!isRecord(raw)) return fail('frame is not a JSON object');
  switch (raw['type']) {
    case 'hello':
      return parseHello(raw);
    case 'send':
      return parseSend(raw);
    case 'ack':
      return parseAck(raw);
    default:
      return fail(`unknown frame type ${JSON.stringify(raw['type'])}`);
  }
}

function parseHello(raw: Record<string, unknown>): Parsed<ClientFrame> {
  const { protocol, account, credentials, shard, shards, epoch, node } = raw;
  if (typeof protocol !== 'number') return fail('hello.protocol must be a number');
  if (!isWaId(account)) return fail('hello.account must be a wa_id of 1-20 digits');
  if (typeof credentials !== 'string' || credentials.length === 0 || credentials.length > 256) {
    return fail('hello.credentials must be a non-empty string of at most 256 characters');
  }
  if (!isShardCount(shards)) return fail('hello.shards must be 1, 2, 4, 8, 16 or 32');
  if (typeof shard !== 'number' || !Number.isInteger(shard) || shard < 0 || shard >= shards) {
    return fail(`hello.shard must be an integer in [0, ${shards})`);
  }
  if (!isEpoch(epoch)) return fail('hello.epoch must be a non-negative safe integer');
  if (node !== undefined && node !== null && (typeof node !== 'string' || node.length > nodeIdLengthMax)) {
    return fail(`hello.node must be a string of at most ${nodeIdLengthMax} characters`);
  }
  const value = { type: 'hello', protocol, account, credentials, shard, shards, epoch, node: typeof node === 'string' ? node : null } as const;
  return { ok: true, value };
}

function parseSend(raw: Record<string, unknown>): Parsed<ClientFrame> {
  const { epoch, messages } = raw;
  if (!isEpoch(epoch)) return fail('send.epoch must be a non-negative safe integer');
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > simSendBatchMessagesMax) {
    return fail(`send.messages must be an array of 1-${simSendBatchMessagesMax} messages`);
  }
  return { ok: true, value: { type: 'send', epoch, messages } };
}

function parseAck(raw: Record<string, unknown>): Parsed<ClientFrame> {
  const { events } = raw;
  if (!Array.isArray(events) || events.length === 0 || events.length > simAckBatchEventsMax) {
    return fail(`ack.events must be an array of 1-${simAckBatchEventsMax} event numbers`);
  }
  for (const n of events) {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) return fail('ack.events must hold positive integers');
  }
  return { ok: true, value: { type: 'ack', events: events as number[] } };
}

/**
 * Validates one entry of `send.messages`. The id is returned even when something else is wrong so
 * that the ack can name the message (an entry without a usable id is acked with id "").
 */
export function parseSendMessage(raw: unknown): { readonly id: string } & Parsed<SendMessage> {
  if (!isRecord(raw)) return { id: '', ...fail('message is not a JSON object') };
  const { id, to, seq, content } = raw;
  if (typeof id !== 'string' || id.length === 0 || id.length > messageIdLengthMax) {
    return { id: typeof id === 'string' ? id.slice(0, messageIdLengthMax) : '', ...fail(`id must be a string of 1-${messageIdLengthMax} characters`) };
  }
  if (!isWaId(to)) return { id, ...fail('to must be a wa_id of 1-20 digits') };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return { id, ...fail('seq must be a positive safe integer') };
  if (!isRecord(content)) return { id, ...fail('content must be a JSON object') };
  return { id, ok: true, value: { id, to, seq, content } };
}

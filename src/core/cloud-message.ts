/**
 * The On-Premises message body, as the API stored it, turned into the WhatsApp Cloud API's body for
 * `POST /{version}/{phone_number_id}/messages` (docs/cloud-api.md lists what changes).
 *
 * What differs between the two forms, and how it is translated:
 * - Cloud requires `messaging_product: "whatsapp"`; On-Prem had no such field.
 * - On-Prem puts `preview_url` at the top level of a text message; Cloud puts it inside `text`.
 * - `recipient_type` is `individual` in both (On-Prem defaulted it; Cloud wants it stated).
 * - `biz_opaque_callback_data` carries our message id, so that every Cloud status about the message
 *   names it even when its `wamid` was never recorded (a coreapp killed between the send and the
 *   write of its answer): the status maps back to our id and the message is not sent twice.
 * - Every other field of the message object (`text`, `template`, `image`, …, `context`) is passed
 *   through unchanged: their shapes are the same in both APIs.
 */

/** Cloud's bound on `biz_opaque_callback_data` (characters). */
export const CLOUD_OPAQUE_DATA_LENGTH_MAX = 512;

/** Fields of a stored On-Prem body that are routing, not content: they are rewritten, not copied. */
const ROUTING_FIELDS: ReadonlySet<string> = new Set(['to', 'recipient_type', 'preview_url', 'messaging_product', 'biz_opaque_callback_data']);

/**
 * Builds the Cloud body. `content` is the On-Prem message without routing (it may still carry a
 * top-level `preview_url`); `to` the recipient's wa_id; `messageId` our id (≤ 512 characters).
 * Pure: the same input always gives the same object.
 */
export function toCloudMessage(content: Readonly<Record<string, unknown>>, to: string, messageId: string): Record<string, unknown> {
  if (messageId.length > CLOUD_OPAQUE_DATA_LENGTH_MAX) throw new Error(`message id longer than ${CLOUD_OPAQUE_DATA_LENGTH_MAX} characters`);
  const body: Record<string, unknown> = { messaging_product: 'whatsapp', recipient_type: 'individual', to };
  for (const [key, value] of Object.entries(content)) {
    if (!ROUTING_FIELDS.has(key)) body[key] = value;
  }
  const previewUrl = content['preview_url'];
  const text = content['text'];
  if (typeof previewUrl === 'boolean' && typeof text === 'object' && text !== null && !Array.isArray(text)) {
    const inner = text as Record<string, unknown>;
    // A `preview_url` already inside `text` (Cloud's own form, accepted as given) wins.
    body['text'] = 'preview_url' in inner ? { ...inner } : { preview_url: previewUrl, ...inner };
  }
  if (typeof body['type'] !== 'string') body['type'] = 'text';
  body['biz_opaque_callback_data'] = messageId;
  return body;
}

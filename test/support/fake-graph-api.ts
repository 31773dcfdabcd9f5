/**
 * A fake WhatsApp Cloud API (Graph API) for tests: a real HTTP server on 127.0.0.1 (port 0) with the
 * documented shapes — `POST /{version}/{phone_number_id}/messages` with a bearer token answering
 * `{"messaging_product":"whatsapp","contacts":[{input,wa_id}],"messages":[{id:"wamid.…"}]}`, errors as
 * `{"error":{message,type,code,error_data:{messaging_product,details},fbtrace_id}}` — and the webhook
 * side: signed (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body with the app secret) status
 * webhooks `sent`, `delivered`, `read` (or `failed` with 131026 for a recipient that is not on
 * WhatsApp) posted to the gateway's webhook URL, retried until answered 200, like Meta does.
 *
 * Faults, drawn from a seeded PRNG: 130429 (HTTP 429, rate limit hit) and transient 5xx
 * (HTTP 500 code 131000 / HTTP 503 code 131016) at given rates; `expireToken()` makes every call
 * answer 401 code 190 until `setToken()`. It records every accepted message in arrival order, so a
 * test checks exactly-once (`duplicates`) and per-recipient order (`orderViolations`).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from './seeded-random.js';

export interface FakeGraphApiOptions {
  readonly phoneNumberId: string;
  readonly token: string;
  readonly appSecret: string;
  readonly seed: number;
  /** Share of sends answered 130429 (0–1). */
  readonly rateLimitRate?: number;
  /** Share of sends answered with a transient 5xx (0–1). */
  readonly serverErrorRate?: number;
  /** Recipients ending with this are not on WhatsApp: accepted, then a `failed` status (131026). */
  readonly invalidSuffix?: string;
  /** Statuses per webhook POST (Cloud batches several in `statuses`). */
  readonly statusesPerWebhook?: number;
}

export interface AcceptedMessage {
  readonly wamid: string;
  readonly to: string;
  /** `biz_opaque_callback_data`: the gateway's message id. */
  readonly opaque: string | null;
  readonly body: Record<string, unknown>;
  /** When it was accepted (this process's clock). */
  readonly atMs: number;
}

interface StatusFact {
  readonly wamid: string;
  readonly status: 'sent' | 'delivered' | 'read' | 'failed';
  readonly recipient: string;
  readonly opaque: string | null;
}

export class FakeGraphApi {
  readonly accepted: AcceptedMessage[] = [];
  /** Answers by kind: how many 130429, 5xx, 190 and 4xx errors were given. */
  readonly answered = { ok: 0, rateLimited: 0, serverError: 0, tokenExpired: 0, invalid: 0 };
  /** Webhook POSTs that got an answer other than 200 (retried). */
  webhookFailures = 0;
  readonly #o: FakeGraphApiOptions;
  readonly #random: () => number;
  readonly #server: Server;
  #token: string;
  #expired = false;
  #webhookUrl: string | null = null;
  readonly #statusQueue: StatusFact[] = [];
  #posting = false;
  #stopped = false;
  url = '';

  constructor(options: FakeGraphApiOptions) {
    this.#o = options;
    this.#token = options.token;
    this.#random = seededRandom(options.seed);
    this.#server = createServer((request, response) => this.#handle(request, response));
    this.#server.keepAliveTimeout = 60_000;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Where status webhooks go (the gateway's `/cloud/webhook`). Queued statuses start flowing. */
  setWebhookUrl(url: string): void {
    this.#webhookUrl = url;
    this.#drain();
  }

  expireToken(): void {
    this.#expired = true;
  }

  setToken(token: string): void {
    this.#token = token;
    this.#expired = false;
  }

  /** Statuses not yet answered 200 by the gateway. */
  get statusesPending(): number {
    return this.#statusQueue.length;
  }

  /** How many times each gateway message id (opaque) was accepted, for ids accepted more than once. */
  duplicates(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of this.accepted) if (m.opaque !== null) counts.set(m.opaque, (counts.get(m.opaque) ?? 0) + 1);
    return new Map([...counts].filter(([, n]) => n > 1));
  }

  /** Accepted gateway ids per recipient, in arrival order. */
  byRecipient(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const m of this.accepted) out.set(m.to, [...(out.get(m.to) ?? []), m.opaque ?? m.wamid]);
    return out;
  }

  /** Posts an inbound text message from a user (signed, like every webhook). */
  inbound(from: string, text: string, name = 'Test User'): Promise<number> {
    const wamid = `wamid.${randomBytes(12).toString('base64url')}`;
    return this.#postSigned(this.#envelope({
      contacts: [{ profile: { name }, wa_id: from }],
      messages: [{ from, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
    }));
  }

  /** Signs a raw body as Meta does: `sha256=<hex HMAC-SHA256(app secret, body)>`. */
  sign(body: string): string {
    return `sha256=${createHmac('sha256', this.#o.appSecret).update(body).digest('hex')}`;
  }

  // ---- the Graph API -----------------------------------------------------------------------------

  #handle(request: IncomingMessage, response: ServerResponse): void {
    let raw = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (raw += chunk));
    request.on('end', () => {
      const match = /^\/(v[0-9]+\.[0-9]+)\/([0-9]+)\/messages$/.exec(request.url ?? '');
      if (request.method !== 'POST' || match === null) return this.#error(response, 400, 100, 'Unsupported post request', 'unknown path', 'GraphMethodException');
      if (match[2] !== this.#o.phoneNumberId) return this.#error(response, 400, 100, 'Unsupported post request. Object does not exist', `no phone number ${match[2]}`, 'GraphMethodException');
      if (this.#expired || request.headers.authorization !== `Bearer ${this.#token}`) {
        this.answered.tokenExpired += 1;
        return this.#error(response, 401, 190, 'Error validating access token: Session has expired', 'the access token expired', 'OAuthException');
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return this.#error(response, 400, 100, 'Invalid parameter', 'the body is not JSON', 'OAuthException');
      }
      this.#send(body, response);
    });
  }

  #send(body: Record<string, unknown>, response: ServerResponse): void {
    const to = body['to'];
    if (body['messaging_product'] !== 'whatsapp' || typeof to !== 'string' || !/^[0-9]{5,20}$/.test(to)) {
      this.answered.invalid += 1;
      return this.#error(response, 400, 100, 'Invalid parameter', 'messaging_product must be "whatsapp" and to a phone number', 'OAuthException');
    }
    if (body['type'] === 'text' && typeof (body['text'] as { body?: unknown } | undefined)?.body !== 'string') {
      this.answered.invalid += 1;
      return this.#error(response, 400, 131009, 'Parameter value is not valid', 'text.body is required', 'OAuthException');
    }
    const draw = this.#random();
    const rateLimit = this.#o.rateLimitRate ?? 0;
    if (draw < rateLimit) {
      this.answered.rateLimited += 1;
      return this.#error(response, 429, 130429, 'Rate limit hit', 'Cloud API message throughput has been reached.', 'OAuthException');
    }
    if (draw < rateLimit + (this.#o.serverErrorRate ?? 0)) {
      this.answered.serverError += 1;
      return this.#random() < 0.5
        ? this.#error(response, 500, 131000, 'Something went wrong', 'Message failed to send because of an unknown error.', 'OAuthException')
        : this.#error(response, 503, 131016, 'Service unavailable', 'A service is temporarily unavailable.', 'OAuthException');
    }
    const wamid = `wamid.${randomBytes(18).toString('base64url')}`;
    const opaque = typeof body['biz_opaque_callback_data'] === 'string' ? body['biz_opaque_callback_data'] : null;
    this.accepted.push({ wamid, to, opaque, body, atMs: Date.now() });
    this.answered.ok += 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id: wamid }] }));
    const invalid = this.#o.invalidSuffix !== undefined && to.endsWith(this.#o.invalidSuffix);
    const statuses: StatusFact['status'][] = invalid ? ['failed'] : ['sent', 'delivered', 'read'];
    for (const status of statuses) this.#statusQueue.push({ wamid, status, recipient: to, opaque });
    this.#drain();
  }

  #error(response: ServerResponse, http: number, code: number, message: string, details: string, type: string): void {
    response.writeHead(http, { 'content-type': 'application/json' }).end(
      JSON.stringify({ error: { message, type, code, error_data: { messaging_product: 'whatsapp', details }, fbtrace_id: randomBytes(8).toString('base64url') } }),
    );
  }

  // ---- webhooks ----------------------------------------------------------------------------------

  /** Posts queued statuses in order, a batch at a time, retrying a batch until it is answered 200. */
  #drain(): void {
    if (this.#posting || this.#webhookUrl === null || this.#stopped) return;
    this.#posting = true;
    void (async () => {
      while (this.#statusQueue.length > 0 && !this.#stopped) {
        const batch = this.#statusQueue.slice(0, this.#o.statusesPerWebhook ?? 50);
        const status = await this.#postSigned(this.#envelope({ statuses: batch.map((s) => this.#statusObject(s)) })).catch(() => 0);
        if (status === 200) this.#statusQueue.splice(0, batch.length);
        else {
          this.webhookFailures += 1;
          await new Promise((resolve) => setTimeout(resolve, 100)); // Meta's retry delay (much shortened)
        }
      }
      this.#posting = false;
    })();
  }

  #statusObject(s: StatusFact): Record<string, unknown> {
    const status: Record<string, unknown> = { id: s.wamid, status: s.status, timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: s.recipient };
    if (s.opaque !== null) status['biz_opaque_callback_data'] = s.opaque;
    if (s.status === 'failed') {
      status['errors'] = [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable', error_data: { details: 'the recipient is not a WhatsApp user' } }];
    } else {
      status['pricing'] = { billable: true, pricing_model: 'PMP', category: 'utility' };
    }
    return status;
  }

  #envelope(value: Record<string, unknown>): string {
    return JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: this.#o.phoneNumberId }, ...value } }] }],
    });
  }

  async #postSigned(body: string): Promise<number> {
    if (this.#webhookUrl === null) throw new Error('no webhook URL set');
    const response = await fetch(this.#webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': this.sign(body) },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return response.status;
  }
}

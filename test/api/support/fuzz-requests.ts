/**
 * A seeded generator of random and malformed API requests for the fuzz test: real routes with
 * mutated bodies (wrong types, huge strings, unicode, missing and unknown fields), random paths and
 * methods, broken JSON, wrong content types, and missing, garbage or wrong credentials.
 */
import type { InjectOptions } from 'fastify';

export type Random = () => number;

/** Percent-encodes any text, lone surrogates included (replaced, as a browser would). */
function encode(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '\ufffd'));
}

export interface FuzzTokens {
  readonly admin: string;
  readonly user: string;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** Valid-looking bodies per route, which the generator then mutates. */
const ROUTES: readonly { method: string; path: string; body?: () => unknown }[] = [
  { method: 'POST', path: '/v1/users/login', body: () => ({ new_password: 'New-pass12' }) },
  { method: 'POST', path: '/v1/users/logout' },
  { method: 'POST', path: '/v1/users', body: () => ({ username: 'fuzzer', password: 'Fuzz-pass1' }) },
  { method: 'GET', path: '/v1/users/:name' },
  { method: 'PUT', path: '/v1/users/:name', body: () => ({ password: 'weak' }) },
  { method: 'DELETE', path: '/v1/users/:name' },
  { method: 'POST', path: '/v1/account', body: () => ({ cc: '1', phone_number: '6315550000', method: 'sms' }) },
  { method: 'POST', path: '/v1/account/verify', body: () => ({ code: '123456' }) },
  { method: 'GET', path: '/v1/account/shards' },
  { method: 'POST', path: '/v1/messages', body: () => ({ to: '16315551234', type: 'text', recipient_type: 'individual', preview_url: false, text: { body: 'hello' } }) },
  { method: 'PUT', path: '/v1/messages/:id', body: () => ({ status: 'read' }) },
  { method: 'POST', path: '/v1/contacts', body: () => ({ blocking: 'wait', contacts: ['16315551000', '+1 631 555 1001'], force_check: false }) },
  { method: 'GET', path: '/v1/settings/application' },
  { method: 'PATCH', path: '/v1/settings/application', body: () => ({ callback_persist: true, webhooks: { url: 'https://example.com/hook', message: { read: false } } }) },
  { method: 'DELETE', path: '/v1/settings/application' },
  { method: 'GET', path: '/v1/health' },
  { method: 'GET', path: '/v1/support' },
  { method: 'GET', path: '/v1/stats/app' },
  { method: 'GET', path: '/v1/stats/db' },
  { method: 'GET', path: '/v1/metrics' },
  { method: 'GET', path: '/docs/json' },
];

export class FuzzRequests {
  readonly #random: Random;

  constructor(random: Random) {
    this.#random = random;
  }

  #int(max: number): number {
    return Math.floor(this.#random() * max);
  }

  #chance(p: number): boolean {
    return this.#random() < p;
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#int(items.length)] as T;
  }

  /** Random text: ASCII, unicode (astral, combining, RTL, lone surrogates), control characters. */
  string(maxLength = 40): string {
    const length = this.#chance(0.05) ? this.#int(200_000) : this.#int(maxLength);
    const kind = this.#int(5);
    if (kind === 0) return 'x'.repeat(length);
    let out = '';
    for (let i = 0; i < Math.min(length, 5_000); i++) {
      const r = this.#int(10);
      if (r < 5) out += String.fromCharCode(32 + this.#int(95));
      else if (r < 7) out += String.fromCodePoint(0x80 + this.#int(0x2000));
      else if (r < 8) out += String.fromCodePoint(0x1f600 + this.#int(80));
      else if (r < 9) out += String.fromCharCode(0xd800 + this.#int(0x800));
      else out += String.fromCharCode(this.#int(32));
    }
    return length > 5_000 ? out + 'y'.repeat(length - 5_000) : out;
  }

  value(depth = 0): unknown {
    const r = this.#int(depth > 2 ? 7 : 9);
    switch (r) {
      case 0: return null;
      case 1: return this.#chance(0.5);
      case 2: return this.#pick([0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 4096, 4097]);
      case 3: return this.#pick(['', 'text', 'read', 'sms', 'individual', '16315551234', 'prometheus', 'admin']);
      case 4:
      case 5:
      case 6: return this.string();
      case 7: return Array.from({ length: this.#int(5) }, () => this.value(depth + 1));
      default: return Object.fromEntries(Array.from({ length: this.#int(4) }, () => [this.#pick(['to', 'text', 'body', 'x', this.string(8)]), this.value(depth + 1)]));
    }
  }

  /** Mutates a valid body: change, drop or add fields (also nested), or replace it altogether. */
  mutate(body: unknown): unknown {
    if (this.#chance(0.1)) return this.value();
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
    const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
    const keys = Object.keys(copy);
    const edits = 1 + this.#int(3);
    for (let i = 0; i < edits; i++) {
      const op = this.#int(4);
      const key = keys.length > 0 ? this.#pick(keys) : 'x';
      if (op === 0) copy[key] = this.value();
      else if (op === 1) delete copy[key];
      else if (op === 2) copy[this.#chance(0.5) ? this.string(10) : 'unexpected'] = this.value();
      else copy[key] = this.mutate(copy[key]);
    }
    return copy;
  }

  #path(template: string): string {
    const param = (): string => {
      const r = this.#int(6);
      if (r === 0) return 'admin';
      if (r === 1) return 'alice';
      if (r === 2) return encode(this.string(30)) || 'x';
      if (r === 3) return 'a'.repeat(this.#int(300) + 1);
      if (r === 4) return '%zz';
      return 'gBEG' + this.#int(1e9).toString(36);
    };
    return template.replace(/:[a-z]+/g, param);
  }

  #randomPath(): string {
    const segments = Array.from({ length: 1 + this.#int(5) }, () =>
      this.#pick(['v1', 'users', 'messages', 'settings', '..', '.', '', '%2e%2e', '%00', 'docs', 'static', encode(this.string(12))]),
    );
    return `/${segments.join('/')}`;
  }

  #query(): string {
    if (!this.#chance(0.2)) return '';
    const pairs = Array.from({ length: 1 + this.#int(3) }, () => `${this.#pick(['format', 'retry', 'x', 'format[]'])}=${encode(this.#pick(['prometheus', 'json', 'xml', '', this.string(20)]))}`);
    return `?${pairs.join('&')}`;
  }

  #authorization(tokens: FuzzTokens): string | undefined {
    const r = this.#int(12);
    const ascii = (n: number) => Array.from({ length: n }, () => String.fromCharCode(33 + this.#int(94))).join('');
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    switch (r) {
      case 0: return undefined;
      case 1: return `Bearer ${ascii(this.#int(60))}`;
      case 2: return ascii(this.#int(80));
      case 3: return basic(this.#pick(['admin', 'alice', 'ghost', 'nobody1', ascii(6)]), this.#pick(['Wrong-pass1', '', ascii(10)]));
      case 4: return `Basic ${ascii(this.#int(40))}`;
      case 5: return 'Bearer ';
      case 6:
      case 7:
      case 8: return `Bearer ${tokens.admin}`;
      default: return `Bearer ${tokens.user}`;
    }
  }

  #contentType(): string | undefined {
    const r = this.#int(10);
    if (r < 7) return 'application/json';
    return this.#pick([undefined, 'text/plain', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '*/*']);
  }

  #payload(body: unknown): string | Buffer | undefined {
    const r = this.#int(20);
    const text = JSON.stringify(body) ?? 'undefined';
    if (r === 0) return text.slice(0, this.#int(text.length + 1));
    if (r === 1) return Buffer.from(Array.from({ length: this.#int(200) }, () => this.#int(256)));
    if (r === 2) return `{"to": "1", ${this.string(20)}`;
    if (r === 3) return '';
    if (r === 4) return this.#chance(0.5) ? 'x'.repeat(1_100_000) : `{"text":{"body":"${'y'.repeat(300_000)}"}}`;
    return text;
  }

  next(tokens: FuzzTokens): InjectOptions {
    const known = this.#chance(0.8);
    const route = this.#pick(ROUTES);
    const method = known && this.#chance(0.85) ? route.method : this.#pick(METHODS);
    const url = (known ? this.#path(route.path) : this.#randomPath()) + this.#query();
    const headers: Record<string, string> = {};
    const authorization = this.#authorization(tokens);
    if (authorization !== undefined) headers['authorization'] = authorization;
    if (this.#chance(0.1)) headers['idempotency-key'] = this.#chance(0.5) ? `key-${this.#int(20)}` : 'k'.repeat(this.#int(300));
    const hasBody = route.body !== undefined ? this.#chance(0.9) : this.#chance(0.2);
    if (!hasBody || method === 'GET' || method === 'HEAD') return { method, url, headers };
    const contentType = this.#contentType();
    if (contentType !== undefined) headers['content-type'] = contentType;
    const body = route.body === undefined ? this.value() : this.#chance(0.15) ? route.body() : this.mutate(route.body());
    const payload = this.#payload(body);
    return payload === undefined ? { method, url, headers } : { method, url, headers, payload };
  }
}

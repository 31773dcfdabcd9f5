/**
 * The load client of the fault-injection suite, which keeps a history in the Jepsen sense: every
 * logical request (one `Idempotency-Key`) with every attempt it took — invoke and completion time,
 * HTTP status or connection error, the message id answered. A retryable failure (a connection
 * error, a timeout, 429 or 5xx) is retried with the same key, against the next webapp of the list,
 * until the request's retry budget runs out; then the request counts as failed.
 */
import { waitFor } from '../../support/wait-for.js';

export interface Attempt {
  readonly url: string;
  readonly invokeMs: number;
  completeMs: number;
  /** HTTP status, or null for a connection error / timeout. */
  status: number | null;
  id: string | null;
  /** The error body (On-Prem `errors`) or the connection error, for non-2xx answers. */
  error: string | null;
  /** True when a non-2xx answer carried an On-Prem error object (`errors[0].code`). */
  clearError: boolean;
}

export interface Operation {
  readonly key: string;
  readonly to: string;
  readonly invokeMs: number;
  completeMs: number | null;
  /** 'ok' with its id, 'failed' after the retry budget, null while in flight. */
  result: 'ok' | 'failed' | null;
  id: string | null;
  readonly attempts: Attempt[];
}

export interface LoadOptions {
  readonly rate: number;
  readonly recipients?: readonly string[];
  /** How long one logical request keeps retrying before it counts as failed. */
  readonly retryBudgetMs?: number;
  readonly attemptTimeoutMs?: number;
}

export const DEFAULT_RECIPIENTS: readonly string[] = Array.from({ length: 10 }, (_, i) => `1631555${String(1001 + i).padStart(4, '0')}`);

/** Waits between the attempts of one request: short, so an outage is measured, not hidden. */
const retryDelayMs = 200;

export class HistoryLoad {
  readonly history: Operation[] = [];
  #running = false;
  #paused = false;
  #loop: Promise<void> = Promise.resolve();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #recipients: readonly string[];
  readonly #retryBudgetMs: number;
  readonly #attemptTimeoutMs: number;
  #next = 0;
  readonly #runId = `${process.pid}-${Date.now().toString(36)}`;

  constructor(
    private readonly urls: () => readonly string[],
    private readonly token: () => Promise<string>,
    private readonly options: LoadOptions,
  ) {
    this.#recipients = options.recipients ?? DEFAULT_RECIPIENTS;
    this.#retryBudgetMs = options.retryBudgetMs ?? 30_000;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
  }

  get ok(): Operation[] {
    return this.history.filter((o) => o.result === 'ok');
  }

  get failed(): Operation[] {
    return this.history.filter((o) => o.result === 'failed');
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops issuing new requests (those in flight go on) until `resume()`. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  async #run(): Promise<void> {
    const token = await this.token();
    let started = Date.now();
    let issued = 0;
    while (this.#running) {
      if (this.#paused) {
        await new Promise((r) => setTimeout(r, 20)); // pacing while paused, not synchronization
        started = Date.now();
        issued = 0;
        continue;
      }
      const wait = started + (issued * 1_000) / this.options.rate - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait)); // pacing of the load
      if (!this.#running || this.#paused) continue;
      issued += 1;
      const request = this.#operation(token);
      this.#inFlight.add(request);
      void request.finally(() => this.#inFlight.delete(request));
    }
  }

  async #operation(token: string): Promise<void> {
    const n = this.#next++;
    const to = this.#recipients[n % this.#recipients.length] as string;
    const op: Operation = { key: `fault-${this.#runId}-${n}`, to, invokeMs: Date.now(), completeMs: null, result: null, id: null, attempts: [] };
    this.history.push(op);
    const body = JSON.stringify({ to, type: 'text', text: { body: `fault load ${n}` } });
    for (let i = 0; ; i += 1) {
      const urls = this.urls();
      const url = urls[i % urls.length] as string;
      const attempt = await this.#attempt(url, token, op.key, body);
      op.attempts.push(attempt);
      if (attempt.status === 201 && attempt.id !== null) {
        op.result = 'ok';
        op.id = attempt.id;
        break;
      }
      const retryable = attempt.status === null || attempt.status === 429 || attempt.status >= 500;
      if (!retryable || Date.now() - op.invokeMs > this.#retryBudgetMs) {
        op.result = 'failed';
        break;
      }
      await new Promise((r) => setTimeout(r, retryDelayMs)); // the client's retry back-off
    }
    op.completeMs = Date.now();
  }

  async #attempt(url: string, token: string, key: string, body: string): Promise<Attempt> {
    const attempt: Attempt = { url, invokeMs: Date.now(), completeMs: 0, status: null, id: null, error: null, clearError: false };
    try {
      const response = await fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
        body,
        signal: AbortSignal.timeout(this.#attemptTimeoutMs),
      });
      attempt.status = response.status;
      const text = await response.text();
      let parsed: { messages?: { id: string }[]; errors?: { code?: unknown }[] } = {};
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        // Not JSON: an unclear error, recorded as such.
      }
      if (response.status === 201) attempt.id = parsed.messages?.[0]?.id ?? null;
      else {
        attempt.error = text.slice(0, 300);
        attempt.clearError = typeof parsed.errors?.[0]?.code === 'number';
      }
    } catch (error) {
      attempt.error = String((error as Error).cause ?? error).slice(0, 300);
    }
    attempt.completeMs = Date.now();
    return attempt;
  }

  /** Stops issuing and waits for every request in flight to finish (answered or out of budget). */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await Promise.all([...this.#inFlight]);
  }

  /** Waits until at least `n` more requests than now were answered 201. */
  async waitForMore(n: number, timeoutMs = 30_000): Promise<void> {
    const target = this.ok.length + n;
    await waitFor(`${n} more accepted messages (failed so far: ${this.failed.length})`, () => this.ok.length >= target, timeoutMs, 20);
  }
}

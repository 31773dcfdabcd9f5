/**
 * The test side of the fault-proxy host (src/testing/fault-proxy-host.ts): one forked process per
 * cluster holds every proxy; `RemoteProxy` drives one of them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HostAnswer, HostRequest } from '../../../src/testing/fault-proxy-host.js';

const HOST = fileURLToPath(new URL('../../../dist/testing/fault-proxy-host.js', import.meta.url));

type Op = HostRequest['op'];

export class ProxyHost {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (answer: HostAnswer) => void>();
  #next = 1;
  readonly #ready: Promise<void>;

  constructor() {
    this.#child = fork(HOST, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#ready = new Promise((resolve, reject) => {
      this.#pending.set(0, () => resolve());
      this.#child.once('exit', (code) => reject(new Error(`the fault-proxy host exited (${code})`)));
    });
    this.#child.on('message', (answer: HostAnswer) => {
      const resolve = this.#pending.get(answer.id);
      this.#pending.delete(answer.id);
      resolve?.(answer);
    });
  }

  async request(op: Op, fields: Omit<HostRequest, 'id' | 'op'> = {}): Promise<HostAnswer> {
    await this.#ready;
    const id = this.#next++;
    const answer = await new Promise<HostAnswer>((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.send({ id, op, ...fields } satisfies HostRequest);
    });
    if (answer.error !== undefined) throw new Error(`fault proxy ${op}: ${answer.error}`);
    return answer;
  }

  async create(target: { host: string; port: number }): Promise<RemoteProxy> {
    const answer = await this.request('create', target);
    return new RemoteProxy(this, answer.port as number);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const gone = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGKILL');
    await gone;
  }
}

/** One proxy in the host; every command returns once the proxy applied it. */
export class RemoteProxy {
  constructor(
    private readonly host: ProxyHost,
    readonly port: number,
  ) {}

  async latency(toTargetMs: number, fromTargetMs = 0): Promise<void> {
    await this.host.request('latency', { proxy: this.port, args: [toTargetMs, fromTargetMs] });
  }

  async drop(): Promise<void> {
    await this.host.request('drop', { proxy: this.port });
  }

  async blackhole(): Promise<void> {
    await this.host.request('blackhole', { proxy: this.port });
  }

  async cut(): Promise<void> {
    await this.host.request('cut', { proxy: this.port });
  }

  async partition(): Promise<void> {
    await this.host.request('partition', { proxy: this.port });
  }

  async heal(): Promise<void> {
    await this.host.request('heal', { proxy: this.port });
  }
}

/**
 * Real processes for end-to-end tests: the built `shardgate` binary (`npm test` builds first), its
 * output captured, with helpers to wait for a line and to stop it. Every process is killed when the
 * test file ends, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait-for.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const running = new Set<ChildProcess>();

export interface Proc {
  readonly child: ChildProcess;
  output(): string;
  /** Waits for a line matching `pattern` and returns its match. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGKILL, then waits for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM (or `signal`), then waits for the exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function shardgate(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['bin/shardgate.js', ...args], {
    cwd: root,
    env: { ...process.env, SHARDGATE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    running.delete(child);
    resolve(code);
  }));
  return {
    child,
    output: () => output,
    waitForOutput: (pattern, timeoutMs = 30_000) =>
      waitFor(`output matching ${pattern} (output so far:\n${output.slice(-2000)})`, () => {
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before printing ${pattern}:\n${output}`);
        return output.match(pattern) ?? undefined;
      }, timeoutMs, 20),
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}

/** Kills every process still running (call in afterAll). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

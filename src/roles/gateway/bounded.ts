/** Bounded waiting for the roles: every store or network call of the control plane has a deadline. */

export class DeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

/** Resolves as `promise` does, or rejects with `DeadlineError` after `ms` (the promise itself runs on). */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** A monotonic clock in milliseconds: never jumps with the wall clock (the master's and the coreapp's own time). */
export function monotonicMs(): number {
  return performance.now();
}

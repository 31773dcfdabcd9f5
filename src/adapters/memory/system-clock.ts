/** The real wall clock, for roles; tests and the simulation use `ManualClock`. */
import type { Clock } from '../../ports/clock.js';

export class SystemClock implements Clock {
  nowMs(): number {
    return Date.now();
  }
}

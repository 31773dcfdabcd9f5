/** A source of wall-clock time in milliseconds. Roles take one so that tests can use a manual clock. */
export interface Clock {
  nowMs(): number;
}

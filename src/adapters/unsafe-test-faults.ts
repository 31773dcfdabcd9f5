/**
 * Deliberately broken builds, for the fault-injection suite only: switches that turn off one safety
 * mechanism so that the suite can prove its checker notices (docs/faults.md). A harness that never
 * sees a broken build fail proves nothing.
 *
 * - `no-fencing`: the gateway's fencing is off. A promotion keeps the shard's epoch instead of
 *   raising it (kysely-shard-map-store), and a coreapp never re-checks its ownership: it treats
 *   being replaced upstream or refused as stale as a plain disconnection and reconnects, and keeps
 *   sending after a pause (shard-worker). The network simulator and its checker are untouched.
 * - `no-durable-accept`: the webapp answers 201 before the message is stored and stores it a second
 *   later (message-insert-batcher), so a webapp killed meanwhile loses accepted messages.
 *
 * Unreachable from configuration: a switch is honoured only when BOTH `NODE_ENV=test` and
 * `SHARDGATE_UNSAFE_TEST_FAULTS` (a comma-separated list of the names above) are in the process
 * environment. No flag, no `SHARDGATE_*` setting of src/core/config.ts, no application setting reads
 * them, and `shardgate` never sets NODE_ENV=test. A process that honours one says so on stderr.
 */
export type UnsafeTestFault = 'no-fencing' | 'no-durable-accept';

export const UNSAFE_TEST_FAULTS_ENV = 'SHARDGATE_UNSAFE_TEST_FAULTS';

const warned = new Set<UnsafeTestFault>();

/** True when the deliberately broken behaviour `fault` is switched on for this process. */
export function unsafeTestFault(fault: UnsafeTestFault, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NODE_ENV'] !== 'test') return false;
  const list = (env[UNSAFE_TEST_FAULTS_ENV] ?? '').split(',').map((s) => s.trim());
  if (!list.includes(fault)) return false;
  if (env === process.env && !warned.has(fault)) {
    warned.add(fault);
    process.stderr.write(`shardgate: UNSAFE TEST BUILD: ${fault} is on (${UNSAFE_TEST_FAULTS_ENV}, NODE_ENV=test); never run this in production\n`);
  }
  return true;
}

/**
 * One simulation run: a seed makes the cluster (masters, shards, coreapps, settings) and a fault
 * schedule — a plain list of timed faults, each with its own repair — which plays out on a `SimWorld`;
 * then the faults stop, everything heals, and every shard must get exactly one healthy primary within
 * a bound and keep it (I9). The schedule is data, so a failing one can be shrunk by removing faults
 * and re-running (`shrinkFailure`), and `SEED=<n>` (plus `SIM_KEEP=<i,j,…>` for a shrunk schedule)
 * replays it exactly.
 */
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { ControlSettings } from '../../src/core/master/control-intervals.js';
import { evaluateCoreappHealth, silenceMs, type HealthInput, type HealthVerdict } from '../../src/core/master/coreapp-health.js';
import { SimViolation, SimWorld, type InvariantId, type SimCoreapp, type SimCounters, type SimMaster } from './sim-world.js';

export const FAULT_KINDS = [
  'crashMaster', 'pauseMaster', 'crashCoreapp', 'pauseCoreapp', 'cutMasterCoreapp', 'isolateCoreapp', 'cutMasterDb',
  'cutCoreappDb', 'cutMasters', 'storm', 'jumpMasterClock', 'jumpCoreappClock',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One fault: when, what, whom (resolved when it fires: `aim` < 0.6 picks the primary / an owner), how long. */
export interface Fault {
  readonly index: number;
  readonly atMs: number;
  readonly kind: FaultKind;
  readonly aim: number;
  readonly pick: number;
  readonly durationMs: number;
  /** For clock jumps: how far the local monotonic timers leap forward (a suspend, a VM migration), ms. */
  readonly sizeMs: number;
}

export interface Scenario {
  readonly seed: number;
  readonly masters: number;
  readonly shards: number;
  readonly coreapps: number;
  readonly settings: ControlSettings;
  readonly faults: readonly Fault[];
}

export interface RunOptions {
  /** Only these fault indexes play (a shrunk schedule); all when absent. */
  readonly keep?: ReadonlySet<number>;
  /** A planted bug (test-only; see `PLANTED_BUGS`). */
  readonly plantedBug?: PlantedBug;
}

export interface RunResult {
  readonly seed: number;
  readonly counters: SimCounters;
  readonly steps: number;
  readonly faultsPlayed: number;
  readonly violation: { readonly invariant: InvariantId; readonly message: string } | null;
}

const SETTINGS: readonly ControlSettings[] = [
  { heartbeat_interval: 0.2, unhealthy_interval: 1.2, db_liveness_interval: 1 },
  { heartbeat_interval: 0.1, unhealthy_interval: 0.6, db_liveness_interval: 1 },
  { heartbeat_interval: 0.15, unhealthy_interval: 0.9, db_liveness_interval: 1.5 },
];
const FAULTS_MS = 40_000;
const START_MS = 3_000;
/** I9: once the faults stop, every shard has its one healthy primary within this bound… */
export const SETTLE_BOUND_MS = 15_000;
/** …after which nothing changes for this long (no flapping). */
export const STABLE_MS = 5_000;
/**
 * Verdicts on evidence from before the heal (a row untouched for 2 × db_liveness_interval, a silence
 * already counted) may still complete this long after it: 2 × the longest db_liveness_interval, plus
 * a node read and a tick. Only after it must the map hold still.
 */
const GRACE_MS = 3_600;

/** The cluster and the fault schedule of a seed. */
export function scenarioOf(seed: number): Scenario {
  const r = new SeededRandom(seed);
  const between = (min: number, max: number) => min + r.int(max - min + 1);
  const shards = between(1, 6);
  const settings = SETTINGS[r.int(SETTINGS.length)] as ControlSettings;
  const masters = between(2, 3);
  const coreapps = shards + between(1, 3);
  const faults: Fault[] = [];
  let atMs = START_MS;
  const gapMaxMs = r.next() < 0.7 ? 500 : 1_500;
  for (;;) {
    atMs += between(100, gapMaxMs);
    if (atMs >= FAULTS_MS) break;
    const kind = FAULT_KINDS[weightedKind(r.next())] as FaultKind;
    faults.push({ index: faults.length, atMs, kind, aim: r.next(), pick: r.next(), durationMs: between(200, 4_000), sizeMs: between(1, 2_000) });
  }
  return { seed, masters, shards, coreapps, settings, faults };
}

/** Faults at the primary coreapps come most often: they make the failovers. */
function weightedKind(u: number): number {
  const weights = [5, 6, 16, 14, 10, 12, 5, 8, 4, 6, 3, 3];
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += (weights[i] as number) / total;
    if (u < acc) return i;
  }
  return weights.length - 1;
}

/** A master's own silence is enough: it pretends another master agreed. */
function healthWithoutAgreement(input: HealthInput): HealthVerdict {
  const silence = silenceMs(input.own, input.nowMs);
  if (silence === null || silence < input.intervals.unhealthyMs) return evaluateCoreappHealth(input);
  return evaluateCoreappHealth({ ...input, peers: [{ silenceMs: silence, receivedAtMs: input.nowMs }] });
}

/** Two masters must agree, but on half the unhealthy interval: an impatient verdict. */
function healthImpatient(input: HealthInput): HealthVerdict {
  return evaluateCoreappHealth({ ...input, intervals: { ...input.intervals, unhealthyMs: input.intervals.unhealthyMs / 2 } });
}

/** Bugs the simulation must find, planted through `MasterMachine`'s test-only health-rule seam. */
export const PLANTED_BUGS = { 'no-agreement': healthWithoutAgreement, impatient: healthImpatient } as const;
export type PlantedBug = keyof typeof PLANTED_BUGS;

/** `SIM_PLANTED_BUG=1` (or `no-agreement`, or `impatient`) plants a bug; unset, none. */
export function plantedBugFromEnv(): PlantedBug | undefined {
  const value = process.env['SIM_PLANTED_BUG'];
  if (value === undefined || value === '') return undefined;
  if (value === '1') return 'no-agreement';
  if (value in PLANTED_BUGS) return value as PlantedBug;
  throw new Error(`SIM_PLANTED_BUG must be 1, ${Object.keys(PLANTED_BUGS).join(' or ')}; got ${value}`);
}

export function runScenario(scenario: Scenario, options: RunOptions = {}): RunResult {
  const net = new SeededRandom((scenario.seed ^ 0x9e3779b9) >>> 0);
  const world = new SimWorld(
    {
      shards: scenario.shards,
      settings: scenario.settings,
      leaseTtlMs: 900,
      tickMs: 50,
      pollMs: 100,
      requestTimeoutMs: 300,
      calm: { latencyMaxMs: 20, dropRate: 0.01 },
      storm: { latencyMaxMs: 150, dropRate: 0.2 },
      evaluateHealth: options.plantedBug === undefined ? undefined : PLANTED_BUGS[options.plantedBug],
    },
    () => net.next(),
  );
  const clock = () => ({ offsetMs: Math.floor(net.next() * 2e9 - 1e9), rate: 0.97 + net.next() * 0.06 });
  const newMaster = () => {
    const c = clock();
    return world.addMaster(c.offsetMs, c.rate);
  };
  const newCoreapp = () => {
    const c = clock();
    return world.addCoreapp(c.offsetMs, c.rate);
  };
  for (let i = 0; i < scenario.masters; i++) newMaster();
  for (let i = 0; i < scenario.coreapps; i++) newCoreapp();
  const repairs: { atMs: number; run: () => void }[] = [];
  let played = 0;
  const result = (violation: RunResult['violation']): RunResult => ({ seed: scenario.seed, counters: { ...world.counters }, steps: world.steps, faultsPlayed: played, violation });
  try {
    for (const fault of scenario.faults) {
      if (options.keep !== undefined && !options.keep.has(fault.index)) continue;
      runRepairsUntil(world, repairs, fault.atMs);
      world.runUntil(fault.atMs);
      const repair = inject(world, fault, newMaster, newCoreapp);
      played++;
      if (repair !== null) repairs.push({ atMs: fault.atMs + fault.durationMs, run: repair });
    }
    runRepairsUntil(world, repairs, FAULTS_MS);
    world.runUntil(FAULTS_MS);
    heal(world, repairs, scenario.shards, newMaster, newCoreapp);
    settle(world);
    return result(null);
  } catch (error) {
    if (error instanceof SimViolation) return result({ invariant: error.invariant, message: error.message });
    throw error;
  }
}

function runRepairsUntil(world: SimWorld, repairs: { atMs: number; run: () => void }[], untilMs: number): void {
  repairs.sort((a, b) => a.atMs - b.atMs);
  while (repairs.length > 0 && (repairs[0] as { atMs: number }).atMs <= untilMs) {
    const repair = repairs.shift() as { atMs: number; run: () => void };
    world.runUntil(repair.atMs);
    repair.run();
  }
}

type Repair = (() => void) | null;

function inject(world: SimWorld, f: Fault, newMaster: () => SimMaster, newCoreapp: () => SimCoreapp): Repair {
  const masters = [...world.masters.values()].filter((m) => m.state === 'up');
  const coreapps = [...world.coreapps.values()].filter((c) => c.state === 'up');
  const primaries = masters.filter((m) => m.machine.role() === 'primary');
  const owners = coreapps.filter((c) => world.map.some((row) => row.owner === c.id));
  const choose = <T>(preferred: T[], all: T[], u: number): T | undefined => {
    const list = preferred.length > 0 && f.aim < 0.75 ? preferred : all;
    return list[Math.floor(u * list.length)];
  };
  const master = choose(primaries, masters, f.pick);
  const coreapp = choose(owners, coreapps, f.pick);
  const other = masters.find((m) => m !== master);
  switch (f.kind) {
    case 'crashMaster':
      if (master === undefined) return null;
      world.crashMaster(master);
      return () => void newMaster();
    case 'pauseMaster':
      if (master === undefined) return null;
      world.pauseMaster(master);
      return () => world.resumeMaster(master);
    case 'crashCoreapp':
      if (coreapp === undefined) return null;
      world.crashCoreapp(coreapp);
      return () => void newCoreapp();
    case 'pauseCoreapp':
      if (coreapp === undefined) return null;
      world.pauseCoreapp(coreapp);
      return () => world.resumeCoreapp(coreapp);
    case 'cutMasterCoreapp':
      if (master === undefined || coreapp === undefined) return null;
      world.cut(master.id, coreapp.id);
      return () => world.cut(master.id, coreapp.id, false);
    case 'isolateCoreapp': {
      // Cut from every master, still connected to the database and the upstream: the zombie case.
      if (coreapp === undefined) return null;
      const cut = [...world.masters.values()].map((m) => m.id);
      for (const id of cut) world.cut(id, coreapp.id);
      return () => cut.forEach((id) => world.cut(id, coreapp.id, false));
    }
    case 'cutMasterDb':
      if (master === undefined) return null;
      master.dbCut = true;
      return () => void (master.dbCut = false);
    case 'cutCoreappDb':
      if (coreapp === undefined) return null;
      coreapp.dbCut = true;
      return () => void (coreapp.dbCut = false);
    case 'cutMasters':
      if (master === undefined || other === undefined) return null;
      world.cut(master.id, other.id);
      return () => world.cut(master.id, other.id, false);
    case 'storm':
      world.storm(world.nowMs + f.durationMs);
      return null;
    case 'jumpMasterClock':
      if (master !== undefined) world.jumpClock(master, f.sizeMs);
      return null;
    case 'jumpCoreappClock':
      if (coreapp !== undefined) world.jumpClock(coreapp, f.sizeMs);
      return null;
  }
}

/** The faults stop: every repair runs, every pause ends, every cut heals, enough nodes run. */
function heal(world: SimWorld, repairs: { run: () => void }[], shards: number, newMaster: () => SimMaster, newCoreapp: () => SimCoreapp): void {
  for (const repair of repairs.splice(0)) repair.run();
  for (const m of world.masters.values()) {
    m.dbCut = false;
    if (m.state === 'paused') world.resumeMaster(m);
  }
  for (const c of world.coreapps.values()) {
    c.dbCut = false;
    if (c.state === 'paused') world.resumeCoreapp(c);
  }
  world.cuts.clear();
  world.stormUntilMs = Number.NEGATIVE_INFINITY;
  if (![...world.masters.values()].some((m) => m.state === 'up')) newMaster();
  const running = [...world.coreapps.values()].filter((c) => c.state === 'up').length;
  for (let i = running; i < shards + 1; i++) newCoreapp();
}

/** I9: exactly one healthy primary per shard within the bound, then no change at all for `STABLE_MS`. */
function settle(world: SimWorld): void {
  const healAt = world.nowMs;
  const settleBy = (what: string) => {
    while (world.unsettledReason() !== null) {
      if (world.nowMs >= healAt + SETTLE_BOUND_MS) throw new SimViolation('I9', `${what} ${SETTLE_BOUND_MS} ms after the faults stopped: ${world.unsettledReason()}`);
      world.runUntil(world.nowMs + 10);
    }
  };
  settleBy('not settled');
  if (world.nowMs < healAt + GRACE_MS) world.runUntil(healAt + GRACE_MS);
  settleBy('unsettled again after the grace period');
  const settled = JSON.stringify(world.map);
  const until = world.nowMs + STABLE_MS;
  while (world.nowMs < until) {
    world.runUntil(world.nowMs + 10);
    const reason = world.unsettledReason();
    if (reason !== null || JSON.stringify(world.map) !== settled) throw new SimViolation('I9', `flapped after settling at ${settled}: ${JSON.stringify(world.map)} (${reason})`);
  }
}

export interface ShrunkFailure {
  readonly keep: number[];
  readonly faults: Fault[];
  readonly violation: NonNullable<RunResult['violation']>;
  readonly runs: number;
}

/**
 * The shortest failing schedule found by removing faults and re-running (bounded by `maxRuns`):
 * chunks first, then single faults, keeping a removal whenever the same invariant still breaks.
 */
export function shrinkFailure(scenario: Scenario, options: RunOptions, invariant: InvariantId, maxRuns = 150): ShrunkFailure {
  let keep = scenario.faults.map((f) => f.index);
  let violation = runScenario(scenario, options).violation as NonNullable<RunResult['violation']>;
  let runs = 1;
  const fails = (candidate: number[]) => {
    runs++;
    const v = runScenario(scenario, { ...options, keep: new Set(candidate) }).violation;
    if (v === null || v.invariant !== invariant) return false;
    violation = v;
    return true;
  };
  for (let chunk = Math.ceil(keep.length / 2); chunk >= 1 && runs < maxRuns; chunk = chunk === 1 ? 0 : Math.ceil(chunk / 2)) {
    for (let start = 0; start < keep.length && runs < maxRuns; ) {
      const candidate = [...keep.slice(0, start), ...keep.slice(start + chunk)];
      if (candidate.length < keep.length && fails(candidate)) keep = candidate;
      else start += chunk;
    }
  }
  return { keep, faults: scenario.faults.filter((f) => keep.includes(f.index)), violation, runs };
}

export function describeFault(f: Fault): string {
  const target = f.aim < 0.75 ? 'primary/owner' : `#${f.pick.toFixed(2)}`;
  const extra = f.kind.startsWith('jump') ? ` by ${f.sizeMs} ms` : ` for ${f.durationMs} ms`;
  return `[${f.index}] t=${f.atMs} ${f.kind} (${target})${extra}`;
}

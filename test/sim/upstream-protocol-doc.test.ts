// docs/upstream-protocol.md must match the code: close codes, frame types, limits, HTTP routes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as limits from '../../src/core/limits.js';
import { SIM_CLOSE_REASONS, SIM_PROTOCOL } from '../../src/core/upstream-protocol.js';

const doc = readFileSync(new URL('../../docs/upstream-protocol.md', import.meta.url), 'utf8');
const apiSource = readFileSync(new URL('../../src/sim/sim-http-api.ts', import.meta.url), 'utf8');

describe('docs/upstream-protocol.md', () => {
  it('lists every close code with its reason, and no other', () => {
    const rows = [...doc.matchAll(/^\| (4\d{3}|1001) \| `([a-z_]+)` \|/gm)].map((m) => [Number(m[1]), m[2]]);
    const expected = (Object.keys(SIM_PROTOCOL.closeCodes) as (keyof typeof SIM_PROTOCOL.closeCodes)[]).map((key) => [
      SIM_PROTOCOL.closeCodes[key],
      SIM_CLOSE_REASONS[key],
    ]);
    expect(rows).toEqual([...expected, [SIM_PROTOCOL.goingAway, 'going_away']]);
  });

  it('shows every frame type', () => {
    for (const type of ['hello', 'send', 'ack', 'welcome', 'acks', 'events', 'error']) {
      expect(doc).toContain(`{ "type": "${type}"`);
    }
  });

  it('quotes every simulator limit with its value', () => {
    const rows = new Map([...doc.matchAll(/^\| `(sim[A-Za-z]+)` \| ([0-9]+) \|/gm)].map((m) => [m[1], Number(m[2])]));
    const simLimits = Object.entries(limits).filter(([name, value]) => name.startsWith('sim') && typeof value === 'number' && name !== 'simPortDefault' && name !== 'simInboundTextLengthMax' && name !== 'simRedeliveryMsMin' && name !== 'simRedeliveryMsMax');
    for (const [name, value] of simLimits) expect({ name, value: rows.get(name) }).toEqual({ name, value });
    expect(rows.size).toBe(simLimits.length);
  });

  it('documents exactly the HTTP routes the simulator serves', () => {
    const served = [...apiSource.matchAll(/app\.(get|post)(?:<[^>]*>)?\('([^']+)'/g)].map((m) => `${(m[1] as string).toUpperCase()} ${(m[2] as string).replace(':wa_id', '<wa_id>')}`);
    const documented = [...doc.matchAll(/\*\*`(GET|POST) (\/sim\/[^`?\s]*)/g)].map((m) => `${m[1]} ${m[2]}`);
    expect([...new Set(documented)].sort()).toEqual([...new Set(served)].sort());
  });
});

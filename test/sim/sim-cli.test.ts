// `shardgate sim` flags → startSim options (the command itself is exercised by hand and by the
// benchmark, which runs it as a child process).
import { describe, expect, it } from 'vitest';
import { simOptionsFrom } from '../../src/cli/commands/sim.js';
import { buildProgram } from '../../src/cli/program.js';
import { SimOptionsError } from '../../src/sim/sim-options.js';

const defaults = {
  host: '127.0.0.1', port: '7070', account: [], shards: '1', receipts: true, receiptDelayMs: '50', readDelayMs: '100',
  readReceipts: true, invalidSuffix: '0000', inboundRate: '0',
};

describe('shardgate sim flags', () => {
  it('are declared on the sim command', () => {
    const sim = buildProgram().commands.find((c) => c.name() === 'sim');
    const flags = sim?.options.map((o) => o.long) ?? [];
    for (const flag of ['--host', '--port', '--seed', '--account', '--shards', '--inbound-rate', '--conn-rate', '--receipt-delay-ms', '--read-delay-ms', '--no-receipts', '--auto-reply']) {
      expect(flags).toContain(flag);
    }
  });

  it('become startSim options', () => {
    const options = simOptionsFrom({
      ...defaults, port: '0', seed: '42', account: ['15550001111:secret', '15550002222'], shards: '8', connRate: '500',
      inboundRate: '3', autoReply: true, readReceipts: false, redeliveryMs: '250',
    });
    expect(options).toMatchObject({
      port: 0, seed: 42, connRatePerSecond: 500, inboundRatePerSecond: 3, autoReply: true, deliveredDelayMs: 50, readDelayMs: null, redeliveryMs: 250,
      accounts: [{ waId: '15550001111', credentials: 'secret', shards: 8 }, { waId: '15550002222', shards: 8 }],
    });
    expect(simOptionsFrom({ ...defaults, receipts: false }).deliveredDelayMs).toBeNull();
  });

  it('name a bad value', () => {
    expect(() => simOptionsFrom({ ...defaults, shards: '3' })).toThrow(SimOptionsError);
    expect(() => simOptionsFrom({ ...defaults, port: 'x' })).toThrow('--port must be a number');
  });
});

/**
 * The deliberately broken builds of the fault suite stay unreachable from configuration: honoured
 * only with NODE_ENV=test AND SHARDGATE_UNSAFE_TEST_FAULTS, never a configuration setting.
 */
import { describe, expect, it } from 'vitest';
import { UNSAFE_TEST_FAULTS_ENV, unsafeTestFault } from '../../src/adapters/unsafe-test-faults.js';
import { CONFIG_SETTINGS } from '../../src/core/config.js';

describe('unsafe test faults', () => {
  it('are off unless both NODE_ENV=test and the list name them', () => {
    expect(unsafeTestFault('no-fencing', {})).toBe(false);
    expect(unsafeTestFault('no-fencing', { [UNSAFE_TEST_FAULTS_ENV]: 'no-fencing' })).toBe(false);
    expect(unsafeTestFault('no-fencing', { NODE_ENV: 'production', [UNSAFE_TEST_FAULTS_ENV]: 'no-fencing' })).toBe(false);
    expect(unsafeTestFault('no-fencing', { NODE_ENV: 'test' })).toBe(false);
    expect(unsafeTestFault('no-fencing', { NODE_ENV: 'test', [UNSAFE_TEST_FAULTS_ENV]: 'no-durable-accept' })).toBe(false);
    expect(unsafeTestFault('no-fencing', { NODE_ENV: 'test', [UNSAFE_TEST_FAULTS_ENV]: 'no-durable-accept, no-fencing' })).toBe(true);
  });

  it('are no configuration setting (no flag, no SHARDGATE_* setting)', () => {
    const settings = Object.values(CONFIG_SETTINGS) as { flag: string; env: string }[];
    expect(settings.map((s) => s.env)).not.toContain(UNSAFE_TEST_FAULTS_ENV);
    expect(settings.some((s) => /unsafe|fault/i.test(s.flag))).toBe(false);
  });
});

import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, ShardgateError, renderErrorsMarkdown } from '../../src/core/errors.js';

const docPath = new URL('../../docs/errors.md', import.meta.url);

describe('error registry', () => {
  it('docs/errors.md matches src/core/errors.ts', () => {
    const expected = renderErrorsMarkdown();
    if (process.env['UPDATE_DOCS'] === '1') writeFileSync(docPath, expected);
    expect(readFileSync(docPath, 'utf8')).toBe(expected);
  });

  it('uses every stable code once, with the SG_ERR_ prefix and a sane HTTP status', () => {
    const codes = Object.values(ERRORS).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of Object.values(ERRORS)) {
      expect(e.code).toMatch(/^SG_ERR_[A-Z_]+$/);
      expect(e.httpStatus).toBeGreaterThanOrEqual(400);
      expect(e.httpStatus).toBeLessThan(600);
      expect(Object.isFrozen(e)).toBe(true);
    }
  });

  it('ShardgateError carries its registry entry', () => {
    const error = new ShardgateError('PARAMETER_INVALID', 'shards must be 1, 2, 4, 8, 16 or 32');
    expect(error.spec.onPremCode).toBe(1009);
    expect(error.message).toBe('Parameter value is not valid: shards must be 1, 2, 4, 8, 16 or 32');
  });
});

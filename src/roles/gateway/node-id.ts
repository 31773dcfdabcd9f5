/** Node ids look like On-Prem's `<hostname>:<12 hex>`, new for every process start. */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { nodeIdLengthMax } from '../../core/limits.js';

export function newNodeId(host: string = hostname()): string {
  const suffix = randomBytes(6).toString('hex');
  return `${host.slice(0, nodeIdLengthMax - suffix.length - 1)}:${suffix}`;
}

/** What every cluster role process (master, coreapp, webapp) is built from, and how it opens its internal API. */
import type { Logger } from 'pino';
import type { Clock } from '../../ports/clock.js';
import type { ClusterTransport } from '../../ports/cluster-transport.js';
import type { Stores } from '../../ports/stores.js';
import { startInternalServer, type InternalHandlers, type InternalServer } from '../../adapters/http/internal-api.js';

export interface ClusterNodeOptions {
  readonly stores: Stores;
  /** Wall clock, for timestamps written to the database; decisions use the monotonic clock. */
  readonly clock: Clock;
  readonly transport: ClusterTransport;
  /** `<hostname>:<12 hex>`, new per process start. */
  readonly nodeId: string;
  readonly hostname: string;
  /** Where the internal API listens. */
  readonly host: string;
  /** The address other nodes reach this one at (default: `host`). */
  readonly advertiseHost?: string;
  /** The internal port other nodes reach this one at (default: the port it listens on). */
  readonly advertisePort?: number;
  readonly internalPort: number;
  readonly clusterSecret: string;
  readonly logger: Logger;
}

/** Opens the node's internal API with the cluster secret; its URL is what the node registers. */
export function startNodeServer(options: ClusterNodeOptions, handlers: InternalHandlers): Promise<InternalServer> {
  return startInternalServer({
    host: options.host,
    ...(options.advertiseHost === undefined ? {} : { advertiseHost: options.advertiseHost }),
    ...(options.advertisePort === undefined ? {} : { advertisePort: options.advertisePort }),
    port: options.internalPort,
    secret: options.clusterSecret,
    handlers,
  });
}

/**
 * Real network partitions with Linux network namespaces (root only): every node runs in a namespace
 * of its own, linked by veth pairs to three bridges in the host's namespace — one network each:
 *
 * | network    | subnet          | the host's address serves                                  |
 * |------------|-----------------|------------------------------------------------------------|
 * | `db`       | 10.231.1.0/24   | the database (a plain TCP forwarder to the local server)   |
 * | `cluster`  | 10.231.2.0/24   | the nodes' internal APIs, the webapps' API, the test client |
 * | `upstream` | 10.231.3.0/24   | the network simulator and the webhook receiver              |
 *
 * `cut(node, network)` takes the node's link to one network off its bridge: its packets to that
 * network vanish (no reset, no error — what a pulled cable looks like), while its other networks work.
 * `heal` puts it back. Nothing else is needed: no iptables, no tc classifiers (this machine's kernel
 * has neither); only `ip` and the bridge and veth drivers.
 *
 * `netnsSkipReason()` says why the lab cannot run here (not root, `ip netns` refused), or null.
 */
import { execFileSync } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';

export type Network = 'db' | 'cluster' | 'upstream';
const NETWORKS: readonly Network[] = ['db', 'cluster', 'upstream'];
const SUBNET: Record<Network, number> = { db: 1, cluster: 2, upstream: 3 };
const PREFIX = 'sgf';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function ipQuiet(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // already gone
  }
}

/** Why network namespaces cannot be used here, or null when they can (checked once, by trying). */
let skipReason: string | null | undefined;
export function netnsSkipReason(): string | null {
  if (skipReason !== undefined) return skipReason;
  if (process.platform !== 'linux') skipReason = 'network namespaces need Linux';
  else if (process.getuid?.() !== 0) skipReason = 'network namespaces need root (the proxy variant of these scenarios runs instead)';
  else {
    const probe = `${PREFIX}probe${process.pid % 10_000}`;
    try {
      ip('netns', 'add', probe);
      ip('link', 'add', `${probe}b`, 'type', 'bridge');
      skipReason = null;
    } catch (error) {
      skipReason = `ip netns / bridges are refused here: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
    } finally {
      ipQuiet('link', 'del', `${probe}b`);
      ipQuiet('netns', 'del', probe);
    }
  }
  return skipReason;
}

/** One node's namespace and its addresses (the same host number on every network). */
export interface LabNode {
  readonly name: string;
  readonly namespace: string;
  readonly host: number;
  address(network: Network): string;
}

export class NetnsLab {
  readonly #id: string;
  readonly #nodes: LabNode[] = [];
  readonly #forwarders: Server[] = [];
  readonly #sockets = new Set<Socket>();

  private constructor(id: string) {
    this.#id = id;
  }

  /** Creates the three bridges (removing what an interrupted run of this suite left behind). */
  static create(): NetnsLab {
    NetnsLab.cleanLeftovers();
    const lab = new NetnsLab((process.pid % 4_096).toString(16));
    for (const network of NETWORKS) {
      const bridge = lab.#bridge(network);
      ip('link', 'add', bridge, 'type', 'bridge');
      // A bridge without an address of its own takes the lowest of its ports' MAC addresses, so it
      // changes as nodes are added: a node that resolved the host's address before would then send
      // to a MAC that is gone, and lose the database until its ARP entry expires. A fixed one stays.
      ip('link', 'set', bridge, 'address', `02:23:10:00:${String(SUBNET[network]).padStart(2, '0')}:01`);
      ip('addr', 'add', `${lab.hostAddress(network)}/24`, 'dev', bridge);
      ip('link', 'set', bridge, 'up');
    }
    return lab;
  }

  /** Removes every namespace and bridge of this suite (names start with its prefix). */
  static cleanLeftovers(): void {
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const line of namespaces.split('\n')) {
      const name = line.split(' ')[0];
      if (name !== undefined && name.startsWith(PREFIX)) ipQuiet('netns', 'del', name);
    }
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    for (const line of links.split('\n')) {
      const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
      if (name !== undefined && name.startsWith(PREFIX)) ipQuiet('link', 'del', name);
    }
  }

  /** The host namespace's address on a network (the database forwarder, the simulator, the client). */
  hostAddress(network: Network): string {
    return `10.231.${SUBNET[network]}.1`;
  }

  #bridge(network: Network): string {
    return `${PREFIX}${this.#id}${network[0]}`;
  }

  #veth(node: LabNode, network: Network): string {
    return `${PREFIX}${this.#id}${node.host}${network[0]}`;
  }

  /** A namespace for a node, linked to every network, with loopback up. */
  addNode(name: string): LabNode {
    const host = 10 + this.#nodes.length;
    const node: LabNode = { name, namespace: `${PREFIX}${this.#id}n${host}`, host, address: (network) => `10.231.${SUBNET[network]}.${host}` };
    ip('netns', 'add', node.namespace);
    ip('-n', node.namespace, 'link', 'set', 'lo', 'up');
    for (const network of NETWORKS) {
      const veth = this.#veth(node, network);
      const inside = `eth${SUBNET[network]}`;
      ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', inside, 'netns', node.namespace);
      ip('link', 'set', veth, 'master', this.#bridge(network), 'up');
      ip('-n', node.namespace, 'addr', 'add', `${node.address(network)}/24`, 'dev', inside);
      ip('-n', node.namespace, 'link', 'set', inside, 'up');
    }
    this.#nodes.push(node);
    return node;
  }

  /** The command line that runs `argv` inside the node's namespace. */
  command(node: LabNode, argv: readonly string[]): { file: string; args: string[] } {
    return { file: 'ip', args: ['netns', 'exec', node.namespace, ...argv] };
  }

  /** The node's packets to `network` vanish from now on (its link is taken off the bridge). */
  cut(node: LabNode, network: Network): void {
    ip('link', 'set', this.#veth(node, network), 'nomaster');
  }

  /** The node's link to `network` is back on the bridge. */
  heal(node: LabNode, network: Network): void {
    ip('link', 'set', this.#veth(node, network), 'master', this.#bridge(network), 'up');
  }

  /**
   * Serves `target` (a local TCP service, e.g. the database on 127.0.0.1) on the host's address of
   * `network`; returns the port. A plain forwarder: the faults are made by `cut`, not here.
   */
  async forward(network: Network, target: { host: string; port: number }): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.hostAddress(network), () => resolve());
    });
    this.#forwarders.push(server);
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the forwarder has no port');
    return address.port;
  }

  /** Stops the forwarders and removes every namespace, veth and bridge of this lab. */
  async destroy(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(this.#forwarders.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const node of this.#nodes) ipQuiet('netns', 'del', node.namespace);
    for (const network of NETWORKS) ipQuiet('link', 'del', this.#bridge(network));
  }
}

/**
 * The live cluster dashboard, registered on a webapp by the composition root (`shardgate start` and
 * the `shardgate webapp` role): the page (`/dashboard`, its script and stylesheet, all served from
 * this process — no CDN) and the stream of snapshots it draws (`GET /v1/dashboard/stream`).
 *
 * The stream is Server-Sent Events read with `fetch` (not `EventSource`, which cannot send an
 * `Authorization` header): the bearer token stays in a header, never in a URL or an access log.
 * Routes use the webapp's `config.auth` levels, so the webapp's auth hook checks the token before a
 * handler runs. A stream ends after `dashboardStreamMaxMs`; the page reconnects, which checks the
 * token again (a revoked or expired token stops being served).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { dashboardSnapshotIntervalMs, dashboardStreamMaxMs, dashboardSubscribersMax } from '../core/limits.js';
import { DASHBOARD_CSS, DASHBOARD_HTML } from './dashboard-page.js';
import { DashboardSnapshots, type DashboardSource } from './dashboard-snapshot.js';
import { SnapshotHub } from './snapshot-hub.js';

export interface DashboardOptions extends DashboardSource {
  /** How often the snapshot is read (default `dashboardSnapshotIntervalMs`). */
  readonly intervalMs?: number;
  /** Where the compiled browser script is (default: found next to this module, or under dist/). */
  readonly clientScriptPath?: string;
  readonly onError?: (error: unknown) => void;
}

/** The compiled client: next to this module when running from dist/, else the build's copy (tests run src/). */
function findClientScript(): string | null {
  const candidates = [new URL('./client/dashboard-client.js', import.meta.url), new URL('../../dist/dashboard/client/dashboard-client.js', import.meta.url)];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  return null;
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
} as const;

/** Registers the page and the stream; the hub stops when the webapp closes. */
export async function registerDashboard(app: FastifyInstance, options: DashboardOptions): Promise<{ readonly hub: SnapshotHub }> {
  const snapshots = new DashboardSnapshots(options);
  const onError = options.onError ?? (() => {});
  const hub = new SnapshotHub({
    read: async () => `event: snapshot\ndata: ${JSON.stringify(await snapshots.read())}\n\n`,
    intervalMs: options.intervalMs ?? dashboardSnapshotIntervalMs,
    subscribersMax: dashboardSubscribersMax,
    onError,
  });
  const scriptPath = options.clientScriptPath ?? findClientScript();
  const script = scriptPath === null ? null : readFileSync(scriptPath, 'utf8');
  const streams = new Set<() => void>();

  const page = async (_request: FastifyRequest, reply: FastifyReply) => reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(DASHBOARD_HTML);
  app.get('/dashboard', { schema: { hide: true } }, page);
  app.get('/dashboard/', { schema: { hide: true } }, page);
  app.get('/dashboard/dashboard.css', { schema: { hide: true } }, async (_request, reply) => reply.headers(SECURITY_HEADERS).type('text/css; charset=utf-8').send(DASHBOARD_CSS));
  app.get('/dashboard/app.js', { schema: { hide: true } }, async (_request, reply) => {
    if (script === null) return reply.code(503).type('text/plain').send('the dashboard client is not built: run npm run build');
    return reply.headers(SECURITY_HEADERS).type('text/javascript; charset=utf-8').send(script);
  });

  app.get(
    '/v1/dashboard/stream',
    {
      schema: { tags: ['monitoring'], summary: 'Dashboard snapshots as Server-Sent Events (one per second; any user)', security: [{ bearer: [] }] },
      config: { auth: 'user' },
    },
    async (request, reply) => {
      const user = request.apiUser;
      const raw = reply.raw;
      let unsubscribe: (() => void) | null = null;
      let timer: NodeJS.Timeout | null = null;
      const end = (): void => {
        if (!streams.delete(end)) return;
        unsubscribe?.();
        if (timer !== null) clearTimeout(timer);
        raw.end();
      };
      reply.hijack();
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
      streams.add(end);
      raw.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ username: user?.username ?? null, role: user?.role ?? null, interval_ms: options.intervalMs ?? dashboardSnapshotIntervalMs })}\n\n`);
      // A subscriber whose socket is not draining misses frames rather than buffering them without bound.
      unsubscribe = hub.subscribe((frame) => {
        if (!raw.writableNeedDrain) raw.write(frame);
      });
      if (unsubscribe === null) {
        raw.write(`event: busy\ndata: ${JSON.stringify({ subscribers_max: dashboardSubscribersMax })}\n\n`);
        end();
        return;
      }
      timer = setTimeout(end, dashboardStreamMaxMs);
      // The response closes when the client goes away (or when `end` ended it).
      raw.on('close', end);
    },
  );

  // Before the server closes: open streams would otherwise keep it waiting.
  app.addHook('preClose', async () => {
    hub.stop();
    for (const end of [...streams]) end();
  });
  return { hub };
}

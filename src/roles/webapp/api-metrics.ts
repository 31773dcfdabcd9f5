/**
 * The webapp's metrics: one prom-client Registry per webapp instance (never the global registry, so
 * tests and multi-role processes can build many), shown by `GET /v1/metrics` as Prometheus text or in
 * On-Prem's JSON shape (`{"<name>":{"type","help","data":[{"labels","value"}]}}`), which
 * `/v1/stats/*` share. Label values are bounded: endpoints are route patterns (unknown paths are one
 * label), results are HTTP status codes.
 */
import { Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Clock } from '../../ports/clock.js';

export interface OnPremMetric {
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  readonly data: readonly { readonly labels?: Readonly<Record<string, string>>; readonly value: number }[];
}

export type OnPremMetrics = Readonly<Record<string, OnPremMetric>>;

const DURATION_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

export class ApiMetrics {
  readonly registry = new Registry();
  readonly #nodeId: string;
  readonly #requests: Counter<'node' | 'method' | 'result'>;
  readonly #durations: Histogram<'node' | 'method' | 'result'>;
  readonly #loginFailures: Counter<'node'>;
  readonly #refused: Counter<'node' | 'reason'>;

  constructor(nodeId: string, clock: Clock, pendingEstimate: () => number) {
    this.#nodeId = nodeId;
    const registers = [this.registry];
    const startedAtMs = clock.nowMs();
    new Gauge({
      name: 'web_uptime',
      help: 'Number of seconds since web server has started',
      labelNames: ['node'],
      registers,
      collect() {
        this.set({ node: nodeId }, Math.max(0, Math.floor((clock.nowMs() - startedAtMs) / 1_000)));
      },
    });
    new Gauge({
      name: 'web_pending_messages',
      help: 'Accepted messages not yet sent, as estimated by the backlog bound (read at most every 250 ms)',
      labelNames: ['node'],
      registers,
      collect() {
        this.set({ node: nodeId }, pendingEstimate());
      },
    });
    this.#requests = new Counter({ name: 'api_requests', help: 'API requests handled, by endpoint and result', labelNames: ['node', 'method', 'result'], registers });
    this.#durations = new Histogram({
      name: 'api_requests_duration_ms',
      help: 'Time to answer API requests in milliseconds, by endpoint and result',
      labelNames: ['node', 'method', 'result'],
      buckets: DURATION_BUCKETS_MS,
      registers,
    });
    this.#loginFailures = new Counter({ name: 'api_login_failures', help: 'Failed logins (wrong credentials)', labelNames: ['node'], registers });
    this.#refused = new Counter({
      name: 'api_requests_refused',
      help: 'Requests refused by a protection (login_throttle, rate_limit, backlog, hash_queue)',
      labelNames: ['node', 'reason'],
      registers,
    });
  }

  observeRequest(endpoint: string, statusCode: number, durationMs: number): void {
    const labels = { node: this.#nodeId, method: endpoint, result: String(statusCode) };
    this.#requests.inc(labels);
    this.#durations.observe(labels, durationMs);
  }

  loginFailed(): void {
    this.#loginFailures.inc({ node: this.#nodeId });
  }

  refused(reason: 'login_throttle' | 'rate_limit' | 'backlog' | 'hash_queue'): void {
    this.#refused.inc({ node: this.#nodeId, reason });
  }

  /** Requests per endpoint and result, for `/v1/stats/app` (`endpoint_requests`). */
  async endpointRequests(): Promise<OnPremMetric> {
    const { values } = await this.#requests.get();
    return {
      type: 'counter',
      help: 'Total number of requests per endpoint and result',
      data: values.map((v) => ({ labels: { endpoint: String(v.labels['method']), result: String(v.labels['result']) }, value: v.value })),
    };
  }

  async json(): Promise<OnPremMetrics> {
    return toOnPrem(await this.registry.getMetricsAsJSON());
  }

  async prometheus(): Promise<string> {
    return this.registry.metrics();
  }
}

function toOnPrem(metrics: readonly MetricObjectWithValues<MetricValue<string>>[]): OnPremMetrics {
  const out: Record<string, { type: 'gauge' | 'counter'; help: string; data: { labels?: Record<string, string>; value: number }[] }> = {};
  for (const metric of metrics) {
    for (const v of metric.values) {
      const name = (v as { metricName?: string }).metricName ?? metric.name;
      const type = String(metric.type) === 'gauge' ? 'gauge' : 'counter';
      const entry = (out[name] ??= { type, help: metric.help, data: [] });
      const labels = Object.fromEntries(Object.entries(v.labels).map(([k, l]) => [k, String(l)]));
      entry.data.push(Object.keys(labels).length === 0 ? { value: v.value } : { labels, value: v.value });
    }
  }
  return out;
}

/** Renders On-Prem-shaped metrics as Prometheus text (for `/v1/stats/*?format=prometheus`). */
export function renderPrometheus(metrics: OnPremMetrics, extraLabels: Readonly<Record<string, string>> = {}): string {
  const lines: string[] = [];
  for (const [name, metric] of Object.entries(metrics)) {
    lines.push(`# HELP ${name} ${metric.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${metric.type}`);
    for (const point of metric.data) {
      const labels = Object.entries({ ...extraLabels, ...point.labels }).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      lines.push(`${name}${labels.length > 0 ? `{${labels.join(',')}}` : ''} ${point.value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A gauge with one unlabelled value, as On-Prem writes `callback_queue_size`. */
export function gauge(help: string, value: number, labels?: Readonly<Record<string, string>>): OnPremMetric {
  return { type: 'gauge', help, data: [labels === undefined ? { value } : { labels, value }] };
}

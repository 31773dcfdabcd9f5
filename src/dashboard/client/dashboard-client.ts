/**
 * The dashboard page's script (compiled by `tsconfig.dashboard.json` to `/dashboard/app.js`; no
 * framework, no imports at run time). It logs in with Basic auth (`POST /v1/users/login`), keeps the
 * bearer token in sessionStorage, reads `GET /v1/dashboard/stream` with `fetch` (Server-Sent Events
 * framing; a header carries the token, which EventSource could not send) and redraws the page from
 * each snapshot. Lost streams reconnect with a bounded back-off; a 401 returns to the login form.
 * Admin actions ask for confirmation in a `<dialog>` and call the public REST API.
 */
import type { DashboardEvent, DashboardNode, DashboardShard, DashboardSnapshot, ThroughputPoint } from '../dashboard-types.js';

const TOKEN_KEY = 'shardgate.dashboard.token';
const reconnectMsMin = 1_000;
const reconnectMsMax = 10_000;
/** No snapshot for this long: the page says so instead of showing old data as live. */
const staleAfterMs = 5_000;

interface Hello {
  readonly username: string | null;
  readonly role: 'ADMIN' | 'USER' | null;
}

let token: string | null = sessionStorage.getItem(TOKEN_KEY);
let hello: Hello | null = null;
let snapshot: DashboardSnapshot | null = null;
let stream: AbortController | null = null;
let reconnectMs = reconnectMsMin;
let lastFrameAt = 0;

function $(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

// ---- formatting -------------------------------------------------------------------------------

function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (value < 1_000) return `${Math.round(value)} ms`;
  if (value < 120_000) return `${(value / 1_000).toFixed(1)} s`;
  return `${Math.round(value / 60_000)} min`;
}

function rate(value: number | null): string {
  return value === null ? '–' : value >= 100 ? String(Math.round(value)) : value.toFixed(1);
}

/** `host:0123456789ab` → `host:…6789ab` when long; the full id stays in the title. */
function shortId(id: string | null): string {
  if (id === null) return '–';
  const at = id.lastIndexOf(':');
  return at > 0 && id.length - at > 7 ? `${id.slice(0, at)}:${id.slice(-6)}` : id;
}

function clock(atMs: number): string {
  return new Date(atMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** The role as words, so colour is never the only cue. */
function roleLabel(node: DashboardNode): { key: string; text: string; cls: string } {
  switch (node.role) {
    case 'primary_master':
      return { key: 'primary_master', text: 'primary master', cls: 'primary_master' };
    case 'secondary_master':
      return { key: 'secondary_master', text: 'secondary master', cls: 'secondary_master' };
    case 'coreapp':
      return node.shard === null
        ? { key: 'secondary_coreapp', text: 'secondary coreapp', cls: 'coreapp secondary' }
        : { key: 'primary_coreapp', text: `primary coreapp · shard ${node.shard}`, cls: 'coreapp primary' };
    case 'webapp':
      return { key: 'webapp', text: 'webapp', cls: 'webapp' };
    case 'single':
      return { key: 'single', text: 'single node (all roles)', cls: 'single' };
  }
}

function describeEvent(event: DashboardEvent): string {
  const d = event.data;
  const num = (key: string): string => (typeof d[key] === 'number' ? String(d[key]) : '?');
  const who = shortId(event.node_id);
  switch (event.kind) {
    case 'failover':
      return `shard ${num('shard')}: ${shortId(typeof d['from'] === 'string' ? d['from'] : null)} → ${who} in ${ms(typeof d['failoverMs'] === 'number' ? d['failoverMs'] : null)} after it was judged unhealthy (epoch ${num('epoch')})`;
    case 'lease_acquired':
      return `${who} took the master lease (epoch ${num('epoch')}): primary master`;
    case 'lease_lost':
      return `${who} lost the master lease (epoch ${num('epoch')})`;
    case 'lease_stepped_down':
      return `${who} stepped down: could not renew the lease in time (epoch ${num('epoch')})`;
    case 'lease_released':
      return `${who} released the master lease (epoch ${num('epoch')})`;
    case 'promotion_lost':
      return `promotion of ${who} for shard ${num('shard')} did not happen (${typeof d['outcome'] === 'string' ? d['outcome'] : 'unknown'})`;
    case 'promoted':
      return `${who} primary of shard ${num('shard')} (epoch ${num('epoch')}${typeof d['reason'] === 'string' ? `, ${d['reason']}` : ''})`;
    case 'demoted':
      return `${who} no longer primary of shard ${num('shard')}${typeof d['reason'] === 'string' ? `: ${d['reason']}` : ''}`;
    case 'handed_over':
      return `${who} handed shard ${num('shard')} over (${d['reason'] === 'admin' ? 'admin request' : 'shutdown'}; drained and ${d['released'] === true ? 'released' : 'could not release'} in ${ms(typeof d['ms'] === 'number' ? d['ms'] : null)})`;
    case 'coreapp_unhealthy':
      return `${who} (shard ${num('shard')}) judged unhealthy`;
    case 'shards_changing':
      return `shard count ${num('from')} → ${num('to')} (generation ${num('generation')})`;
    case 'shards_changed':
      return `shard count ${num('from')} → ${num('to')} done in ${ms(typeof d['ms'] === 'number' ? d['ms'] : null)}`;
    default:
      return `${event.node_id === null ? '' : `${who} `}${typeof d['epoch'] === 'number' ? `epoch ${d['epoch']} ` : ''}${JSON.stringify(d).slice(0, 120)}`;
  }
}

// ---- views ------------------------------------------------------------------------------------

function show(view: 'login' | 'dash'): void {
  $('login-view').hidden = view !== 'login';
  $('dash-view').hidden = view !== 'dash';
  $('logout').hidden = view !== 'dash';
  if (view === 'login') {
    $('who').textContent = '';
    $('mode').hidden = true;
    setLive('', '');
    ($('password') as HTMLInputElement).focus();
  }
}

function setLive(text: string, cls: '' | 'ok' | 'bad'): void {
  const live = $('live');
  live.textContent = text;
  live.className = `live ${cls}`;
}

function render(s: DashboardSnapshot): void {
  const mode = $('mode');
  mode.hidden = false;
  mode.textContent = s.mode === 'single' ? 'single node' : 'cluster';
  renderSummary(s);
  renderNodes(s);
  renderShards(s);
  renderChart(s.throughput.points);
  renderEvents(s.events);
  renderAdmin(s);
}

function renderSummary(s: DashboardSnapshot): void {
  const masters = s.nodes.filter((n) => n.role === 'primary_master' || n.role === 'secondary_master' || n.role === 'single');
  const coreapps = s.nodes.filter((n) => n.role === 'coreapp' || n.role === 'single');
  const alive = (list: readonly DashboardNode[]) => list.filter((n) => n.alive).length;
  $('sum-masters').textContent = `${alive(masters)} alive`;
  $('sum-lease').textContent = s.lease?.holder ? `primary ${shortId(s.lease.holder)} · epoch ${s.lease.epoch}` : 'no primary master';
  const unresponsive = coreapps.filter((n) => n.alive && isLate(n, s)).length;
  $('sum-coreapps').textContent = `${alive(coreapps) - unresponsive} alive`;
  const primaries = coreapps.filter((n) => n.shard !== null && n.gateway_status === 'connected').length;
  const gone = coreapps.length - alive(coreapps);
  const others = coreapps.length - primaries - unresponsive - gone;
  $('sum-coreapps-sub').textContent = [`${primaries} connected primary`, `${others} other`, ...(unresponsive > 0 ? [`${unresponsive} unresponsive`] : []), ...(gone > 0 ? [`${gone} gone`] : [])].join(' · ');
  const served = s.shards.filter((sh) => sh.owner !== null).length;
  $('sum-shards').textContent = s.generation === null ? '–' : `${served} / ${s.generation.shards} served`;
  $('sum-generation').textContent = s.generation === null ? 'no shard map yet' : `generation ${s.generation.generation} · ${s.generation.state}`;
  const c = s.throughput.current;
  $('sum-rate').textContent = `${rate(c.accepted)} · ${rate(c.sent)} · ${rate(c.delivered)}`;
  $('sum-queues').textContent = `${s.queues.pending_messages} · ${s.queues.pending_webhooks} · ${s.queues.dead_webhooks}`;
  const lease = s.lease;
  $('lease-line').textContent =
    lease === null ? 'Master lease: never taken.' : lease.holder === null ? `Master lease: free (last epoch ${lease.epoch}).` : `Master lease: held by ${lease.holder}, epoch ${lease.epoch}, expires in ${ms(lease.expires_in_ms)} unless renewed.`;
}

function cell(label: string, ...children: (Node | string)[]): HTMLTableCellElement {
  return el('td', { 'data-label': label }, ...children);
}

function renderNodes(s: DashboardSnapshot): void {
  const order: Record<string, number> = { primary_master: 0, single: 0, secondary_master: 1, coreapp: 2, webapp: 3 };
  const nodes = [...s.nodes].sort((a, b) => (order[a.role] ?? 9) - (order[b.role] ?? 9) || (a.shard ?? 99) - (b.shard ?? 99) || (a.node_id < b.node_id ? -1 : 1));
  const rows = nodes.map((n) => {
    const role = roleLabel(n);
    const beats = Object.entries(n.heartbeat_ms);
    const lateAfterMs = s.settings.unhealthy_interval * 1_000;
    const late = isLate(n, s);
    const row = el(
      'tr',
      { 'data-node-id': n.node_id, 'data-role': role.key, class: n.alive ? '' : 'dead' },
      cell('Node', el('span', { class: 'id', title: n.node_id }, n.node_id)),
      cell('Role', el('span', { class: `role ${role.cls}` }, role.text)),
      cell('Shard', n.shard === null ? '–' : String(n.shard)),
      cell('Epoch', n.epoch === null ? '–' : String(n.epoch)),
      cell('Gateway', gatewayCell(n, late)),
      cell('DB liveness', el('span', { class: 'num' }, `${ms(n.db_age_ms)} ago${n.alive ? '' : ' (dead)'}`)),
      cell(
        'Heartbeat',
        beats.length === 0
          ? '–'
          : el(
              'span',
              { class: 'beats' },
              ...beats.map(([master, age]) =>
                el('span', { title: `as seen by master ${master}`, class: age !== null && age > lateAfterMs ? 'late' : '' }, `${shortId(master)}: ${age === null ? 'none' : ms(age)}${age !== null && age > lateAfterMs ? ' (late)' : ''}`),
              ),
            ),
      ),
    );
    return row;
  });
  $('nodes').querySelector('tbody')?.replaceChildren(...rows);
}

/** A master has not heard this coreapp's heartbeat for longer than `unhealthy_interval`. */
function isLate(n: DashboardNode, s: DashboardSnapshot): boolean {
  return Object.values(n.heartbeat_ms).some((age) => age !== null && age > s.settings.unhealthy_interval * 1_000);
}

/** The gateway column: the upstream connection of a primary; secondaries are on standby. */
function gatewayCell(n: DashboardNode, late: boolean): HTMLElement {
  if (n.role !== 'coreapp' && n.role !== 'single') return el('span', { class: 'status none' }, 'n/a');
  if (!n.alive) return el('span', { class: 'status disconnected' }, 'gone (no liveness)');
  if (late) return el('span', { class: 'status disconnected' }, 'unresponsive');
  if (n.shard === null) return el('span', { class: 'status none' }, 'standby');
  return el('span', { class: `status ${n.gateway_status}` }, n.gateway_status);
}

function renderShards(s: DashboardSnapshot): void {
  const byOwner = new Map(s.nodes.map((n) => [n.node_id, n]));
  const tiles = s.shards.map((sh: DashboardShard) => {
    const owner = sh.owner === null ? undefined : byOwner.get(sh.owner);
    const connected = owner?.gateway_status === 'connected';
    const state = sh.owner === null ? 'no owner' : connected ? 'serving' : 'connecting';
    const cls = sh.owner === null ? 'shard unowned' : connected ? 'shard' : 'shard waiting';
    return el(
      'li',
      { class: cls, 'data-shard': String(sh.shard), 'data-owner': sh.owner ?? '', 'aria-label': `shard ${sh.shard}: ${state}` },
      el('span', { class: 'head' }, el('span', { class: 'n' }, `#${sh.shard}`), el('span', { class: 'state' }, state)),
      el('span', { class: 'owner', title: sh.owner ?? 'no owner' }, shortId(sh.owner)),
      el('span', { class: 'line' }, `epoch ${sh.epoch}`),
      el('span', { class: 'line' }, `${sh.pending} pending`),
    );
  });
  $('shard-grid').replaceChildren(...tiles);
}

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string>): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function renderChart(points: readonly ThroughputPoint[]): void {
  const width = 600;
  const height = 150;
  const pad = 24;
  const values = points.flatMap((p) => [p.accepted, p.sent, p.delivered]).filter((v): v is number => v !== null);
  const max = Math.max(1, ...values);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none' });
  root.append(svg('line', { x1: String(pad), y1: String(height - pad), x2: String(width), y2: String(height - pad), class: 'axis' }));
  const top = svg('text', { x: '0', y: '12' });
  top.textContent = `${rate(max)}/s`;
  const bottom = svg('text', { x: '0', y: String(height - pad) });
  bottom.textContent = '0';
  const left = svg('text', { x: String(pad), y: String(height - 6) });
  left.textContent = '−5 min';
  const right = svg('text', { x: String(width - 24), y: String(height - 6) });
  right.textContent = 'now';
  root.append(top, bottom, left, right);
  const n = Math.max(1, points.length - 1);
  for (const [key, colour] of [['accepted', 'var(--accepted)'], ['sent', 'var(--sent)'], ['delivered', 'var(--delivered)']] as const) {
    const coords = points
      .map((p, i) => (p[key] === null ? null : `${pad + ((width - pad) * i) / n},${height - pad - ((height - pad - 14) * (p[key] as number)) / max}`))
      .filter((c): c is string => c !== null);
    if (coords.length > 1) root.append(svg('polyline', { points: coords.join(' '), fill: 'none', stroke: colour, 'stroke-width': '2', 'vector-effect': 'non-scaling-stroke' }));
    // A dot per bucket, so a short history (a dashboard just opened) is visible too.
    for (const c of coords) {
      const [x, y] = c.split(',');
      root.append(svg('circle', { cx: x ?? '0', cy: y ?? '0', r: '2.5', fill: colour }));
    }
  }
  $('chart').replaceChildren(root);
  const first = points.find((p) => p.accepted !== null);
  // The webapp samples counts only while a dashboard is open: say where the history starts.
  $('chart-note').textContent = first === undefined ? 'No history yet: rates need two snapshots.' : first === points[0] ? '' : `History from ${clock(first.at_ms)} (when a dashboard of this webapp was opened).`;
}

function renderEvents(events: readonly DashboardEvent[]): void {
  const items = events.map((e) =>
    el(
      'li',
      { 'data-kind': e.kind, 'data-seq': String(e.seq), ...(typeof e.data['failoverMs'] === 'number' ? { 'data-failover-ms': String(e.data['failoverMs']) } : {}), ...(typeof e.data['shard'] === 'number' ? { 'data-shard': String(e.data['shard']) } : {}) },
      el('time', { datetime: new Date(e.at_ms).toISOString() }, clock(e.at_ms)),
      el('span', { class: `kind ${e.kind}` }, e.kind.replace(/_/g, ' ')),
      el('span', { class: 'what' }, describeEvent(e)),
    ),
  );
  if (items.length === 0) items.push(el('li', {}, el('span', {}, 'No events yet.')));
  $('events').replaceChildren(...items);
}

function renderAdmin(s: DashboardSnapshot): void {
  const admin = hello?.role === 'ADMIN';
  $('admin').hidden = !admin;
  if (!admin) return;
  // One process runs one coreapp: there is nobody to hand a shard over to.
  $('handover-form').hidden = s.mode === 'single';
  const count = $('shard-count') as HTMLSelectElement;
  if (count.dataset['set'] !== '1' && s.generation !== null) {
    count.value = String(s.generation.shards);
    count.dataset['set'] = '1';
  }
  const select = $('handover-shard') as HTMLSelectElement;
  const wanted = s.shards.filter((sh) => sh.owner !== null).map((sh) => String(sh.shard));
  const have = [...select.options].map((o) => o.value);
  if (wanted.join(',') !== have.join(',')) {
    const previous = select.value;
    select.replaceChildren(...wanted.map((v) => el('option', { value: v }, `shard ${v}`)));
    if (wanted.includes(previous)) select.value = previous;
  }
  // Fill the interval inputs from the settings unless the user is editing them.
  for (const [id, value] of [['heartbeat-interval', s.settings.heartbeat_interval], ['unhealthy-interval', s.settings.unhealthy_interval]] as const) {
    const input = $(id) as HTMLInputElement;
    if (document.activeElement !== input && input.dataset['dirty'] !== '1') input.value = String(value);
  }
}

// ---- stream -----------------------------------------------------------------------------------

async function connect(): Promise<void> {
  stream?.abort();
  const controller = new AbortController();
  stream = controller;
  try {
    const response = await fetch('/v1/dashboard/stream', { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: controller.signal });
    if (response.status === 401) return loggedOut('Your session ended; log in again.');
    if (!response.ok || response.body === null) throw new Error(`stream answered ${response.status}`);
    setLive('connected', 'ok');
    await readEvents(response.body, controller.signal);
  } catch (error) {
    if (controller.signal.aborted) return;
    setLive(`reconnecting (${(error as Error).message})`, 'bad');
  }
  if (controller.signal.aborted || stream !== controller) return;
  setLive('reconnecting…', 'bad');
  setTimeout(() => {
    if (stream === controller) void connect();
  }, reconnectMs);
  reconnectMs = Math.min(reconnectMsMax, reconnectMs * 2);
}

/** Parses Server-Sent Events (`event:` / `data:` lines, a blank line ends an event). */
async function readEvents(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (!signal.aborted) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) onEvent(name, data.join('\n'));
    }
  }
}

function onEvent(name: string, data: string): void {
  if (name === 'hello') {
    hello = JSON.parse(data) as Hello;
    $('who').textContent = `${hello.username ?? '?'} (${hello.role === 'ADMIN' ? 'admin' : 'user'})`;
  } else if (name === 'snapshot') {
    snapshot = JSON.parse(data) as DashboardSnapshot;
    lastFrameAt = Date.now();
    reconnectMs = reconnectMsMin;
    setLive(`live · ${clock(snapshot.at_ms)}`, 'ok');
    render(snapshot);
  } else if (name === 'busy') {
    setLive('too many dashboards open on this webapp; retrying', 'bad');
  }
}

function loggedOut(message: string): void {
  stream?.abort();
  stream = null;
  token = null;
  hello = null;
  sessionStorage.removeItem(TOKEN_KEY);
  show('login');
  $('login-error').textContent = message;
}

// ---- actions ----------------------------------------------------------------------------------

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    parsed = { text };
  }
  if (response.status === 401) loggedOut('Your session ended; log in again.');
  return { status: response.status, body: parsed };
}

function errorText(body: Record<string, unknown>): string {
  const first = (body['errors'] as { title?: string; details?: string }[] | undefined)?.[0];
  return first === undefined ? JSON.stringify(body).slice(0, 200) : `${first.title ?? 'error'}: ${first.details ?? ''}`;
}

/** Opens the confirmation dialog; resolves true only for an explicit Confirm. */
function confirmAction(title: string, text: string, okLabel: string): Promise<boolean> {
  const dialog = $('confirm') as HTMLDialogElement;
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    ($('confirm-cancel') as HTMLButtonElement).focus();
  });
}

function result(text: string, ok: boolean | null): void {
  const out = $('action-result');
  out.textContent = text;
  out.className = `result ${ok === null ? '' : ok ? 'ok' : 'bad'}`;
}

type Answer = { status: number; body: Record<string, unknown> };

async function runAction(title: string, text: string, okLabel: string, busy: string, call: () => Promise<Answer>, done: string | ((body: Record<string, unknown>) => string)): Promise<void> {
  if (!(await confirmAction(title, text, okLabel))) {
    result('Cancelled.', null);
    return;
  }
  result(busy, null);
  const answer = await call().catch((error: unknown): Answer => ({ status: 0, body: { text: (error as Error).message } }));
  const ok = answer.status >= 200 && answer.status < 300;
  result(ok ? (typeof done === 'string' ? done : done(answer.body)) : `Failed (${answer.status}) — ${errorText(answer.body)}`, ok);
}

function onShardCount(event: Event): void {
  event.preventDefault();
  const s = snapshot;
  const shards = Number(($('shard-count') as HTMLSelectElement).value);
  const account = s?.account;
  if (account?.state !== 'registered') return result('No registered account: the shard count cannot change yet.', false);
  void runAction(
    'Change the shard count',
    `Change the shard count from ${s?.generation?.shards ?? '?'} to ${shards}? Every shard is quiesced and re-assigned; messages wait in the database meanwhile (a few seconds).`,
    `Change to ${shards}`,
    `Changing the shard count to ${shards}…`,
    () => api('POST', '/v1/account/shards', { cc: account.cc, phone_number: account.phone_number, shards }),
    `The shard count is now ${shards}.`,
  );
}

function onHandover(event: Event): void {
  event.preventDefault();
  const shard = Number(($('handover-shard') as HTMLSelectElement).value);
  const owner = snapshot?.shards.find((sh) => sh.shard === shard)?.owner ?? null;
  void runAction(
    'Hand a shard over',
    `Hand shard ${shard} over from ${owner ?? 'its owner'} to another coreapp? The owner drains and releases it; the primary master promotes a secondary at once.`,
    'Hand over',
    `Handing shard ${shard} over…`,
    () => api('POST', `/v1/cluster/shards/${shard}/handover`),
    (body) => {
      const h = (body['handover'] ?? {}) as { to?: string | null; ms?: number; released?: boolean };
      if (h.released !== true) return `Shard ${shard}: the owner could not release it (it moved meanwhile); the master decides.`;
      return h.to ? `Shard ${shard} was handed over to ${h.to} in ${ms(h.ms)}.` : `Shard ${shard} was released in ${ms(h.ms)}; the master has not named a new owner yet.`;
    },
  );
}

function onSettings(event: Event): void {
  event.preventDefault();
  const heartbeat = Number(($('heartbeat-interval') as HTMLInputElement).value);
  const unhealthy = Number(($('unhealthy-interval') as HTMLInputElement).value);
  void runAction(
    'Change the failure-detection intervals',
    `Set heartbeat_interval to ${heartbeat} s and unhealthy_interval to ${unhealthy} s? A primary coreapp is replaced after about unhealthy_interval of silence.`,
    'Save',
    'Saving…',
    async () => {
      const answer = await api('PATCH', '/v1/settings/application', { heartbeat_interval: heartbeat, unhealthy_interval: unhealthy });
      if (answer.status < 300) for (const id of ['heartbeat-interval', 'unhealthy-interval']) delete ($(id) as HTMLInputElement).dataset['dirty'];
      return answer;
    },
    `Saved: heartbeat_interval ${heartbeat} s, unhealthy_interval ${unhealthy} s.`,
  );
}

// ---- start ------------------------------------------------------------------------------------

function base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

async function onLogin(event: Event): Promise<void> {
  event.preventDefault();
  const username = ($('username') as HTMLInputElement).value.trim();
  const password = ($('password') as HTMLInputElement).value;
  $('login-error').textContent = '';
  const response = await fetch('/v1/users/login', { method: 'POST', headers: { authorization: `Basic ${base64(`${username}:${password}`)}` } });
  const body = (await response.json().catch(() => ({}))) as { users?: { token: string }[] } & Record<string, unknown>;
  const issued = body.users?.[0]?.token;
  if (response.status !== 200 || issued === undefined) {
    $('login-error').textContent = `Login failed — ${errorText(body)}`;
    return;
  }
  token = issued;
  sessionStorage.setItem(TOKEN_KEY, issued);
  ($('password') as HTMLInputElement).value = '';
  start();
}

function start(): void {
  show('dash');
  setLive('connecting…', '');
  reconnectMs = reconnectMsMin;
  void connect();
}

function main(): void {
  $('login-form').addEventListener('submit', (e) => void onLogin(e));
  $('logout').addEventListener('click', () => {
    void api('POST', '/v1/users/logout').finally(() => loggedOut('Logged out.'));
  });
  $('shards-form').addEventListener('submit', onShardCount);
  $('handover-form').addEventListener('submit', onHandover);
  $('settings-form').addEventListener('submit', onSettings);
  for (const id of ['heartbeat-interval', 'unhealthy-interval']) $(id).addEventListener('input', (e) => ((e.target as HTMLInputElement).dataset['dirty'] = '1'));
  setInterval(() => {
    if (snapshot !== null && stream !== null && Date.now() - lastFrameAt > staleAfterMs) setLive(`stale: no update for ${ms(Date.now() - lastFrameAt)}`, 'bad');
  }, 1_000);
  if (token === null) show('login');
  else start();
}

main();

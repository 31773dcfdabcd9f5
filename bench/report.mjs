// Renders one `npm run bench` result: the markdown summary (tables, ratios to the baseline, targets
// met or missed) and two SVG charts (throughput by shard count, failover times per kill).

const TARGETS = {
  sqlitePerS: 5_000,
  postgresPerS: 3_000,
  p99Ms: 20,
  failoverDefaultMedianMs: 5_500,
  failoverFastMedianMs: 1_500,
  handoverGapMs: 200,
  rssMb: 120,
};

const fmt = (v) => (v === null || v === undefined ? '—' : typeof v === 'number' ? v.toLocaleString('en-US') : String(v));
const ratio = (v, base) => (base ? (v / base).toFixed(2) : '—');

function throughputTable(r) {
  const base = r.baseline?.req_per_s ?? null;
  const rows = r.throughput.map((t) => {
    const rss = t.rss_mb ? Object.entries(t.rss_mb).map(([k, v]) => `${k} ${fmt(v.load_max)}`).join(', ') : '';
    return `| ${t.target === 'start' ? 'shardgate start' : `cluster, ${t.shards} shard${t.shards > 1 ? 's' : ''}`} | ${t.dialect} | ${fmt(t.accepted_per_s)} | ${fmt(t.end_to_end_per_s)} | ${ratio(t.end_to_end_per_s, base)} | ${fmt(t.webhooks_per_s)} | ${t.checker.ok ? 'clean' : 'VIOLATION'} | ${rss} |`;
  });
  return [
    `Baseline (Fastify hello-world POST, same load): **${fmt(base)} req/s**.`,
    '',
    '| system | db | accepted msg/s | end-to-end msg/s | × baseline | webhooks/s | checker | RSS under load, MB (max per kind) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function targetRows(r) {
  const best = (dialect) => Math.max(0, ...r.throughput.filter((t) => t.dialect === dialect && t.checker.ok).map((t) => t.end_to_end_per_s));
  const rows = [];
  const add = (what, target, measured, met) => rows.push(`| ${what} | ${target} | ${measured} | ${met === null ? 'not measured' : met ? 'met' : '**missed**'} |`);
  const sqlite = best('sqlite');
  add('end-to-end, SQLite', `≥ ${fmt(TARGETS.sqlitePerS)} msg/s`, `${fmt(sqlite)} msg/s`, sqlite >= TARGETS.sqlitePerS);
  const pg = r.throughput.some((t) => t.dialect === 'postgres') ? best('postgres') : null;
  add('end-to-end, PostgreSQL', `≥ ${fmt(TARGETS.postgresPerS)} msg/s`, pg === null ? 'not run (no --db)' : `${fmt(pg)} msg/s`, pg === null ? null : pg >= TARGETS.postgresPerS);
  const l = r.latency;
  add('API p99 at 50 % of max', `≤ ${TARGETS.p99Ms} ms`, l ? `${l.p99_ms} ms at ${l.rate_per_s} msg/s` : '—', l ? l.p99_ms <= TARGETS.p99Ms && l.failures === 0 : null);
  const def = r.failover.find((f) => f.settings.startsWith('defaults'));
  add('failover median, defaults', `≤ ${fmt(TARGETS.failoverDefaultMedianMs)} ms`, def ? `${fmt(def.failover_ms.median)} ms` : '—', def ? def.failover_ms.median <= TARGETS.failoverDefaultMedianMs : null);
  const fast = r.failover.find((f) => !f.settings.startsWith('defaults'));
  add('failover median, fast intervals', `≤ ${fmt(TARGETS.failoverFastMedianMs)} ms`, fast ? `${fmt(fast.failover_ms.median)} ms` : '—', fast ? fast.failover_ms.median <= TARGETS.failoverFastMedianMs : null);
  const ff = r.false_failovers;
  add('false failovers at full load, fast intervals', '0', ff ? `${ff.false_failovers} (${fmt(ff.accepted_per_s)} msg/s for ${ff.duration_s} s)` : '—', ff ? ff.false_failovers === 0 : null);
  const h = r.handover;
  add('planned handover', `gap ≤ ${TARGETS.handoverGapMs} ms, 0 failed`, h ? `max ${fmt(h.gap_ms.max)} ms, ${h.failed_requests} failed` : '—', h ? h.gap_ms.max <= TARGETS.handoverGapMs && h.failed_requests === 0 : null);
  const rss = [];
  for (const t of r.throughput.filter((x) => x.target === 'cluster')) {
    for (const [kind, v] of Object.entries(t.rss_mb)) if (kind === 'coreapp' || kind === 'webapp') rss.push(v.load_max);
  }
  const rssMax = rss.length ? Math.max(...rss) : null;
  add('RSS per coreapp / webapp under full load', `≤ ${TARGETS.rssMb} MB`, rssMax === null ? '—' : `${fmt(rssMax)} MB`, rssMax === null ? null : rssMax <= TARGETS.rssMb);
  const s = r.soak;
  const slope = s ? Math.max(...Object.values(s.rss).map((v) => v.slope_mb_per_min_max)) : null;
  add('no RSS growth over a 10-minute soak', '≈ 0 MB/min', s ? `max slope ${slope} MB/min over the second half` : 'not run (--soak)', s ? slope < 0.5 : null);
  return ['| target | bound | measured | |', '|---|---|---|---|', ...rows].join('\n');
}

export function renderSummary(r) {
  const parts = [
    `# Benchmark run ${r.at}${r.quick ? ' (--quick)' : ''}`,
    '',
    `Machine: ${r.machine.cores} cores, Node ${r.machine.node}; everything (load generator, simulator, gateway or cluster, database) on it. ${r.duration_s} s in all.`,
    '',
    '## Throughput (sent, delivered and read webhooks on)',
    '',
    throughputTable(r),
    '',
  ];
  if (r.latency) {
    parts.push('## API latency at 50 % of the maximum (`shardgate start`, SQLite)', '',
      '| rate msg/s | requests | failures | p50 ms | p99 ms | max ms |', '|---|---|---|---|---|---|',
      `| ${r.latency.rate_per_s} | ${r.latency.requests} | ${r.latency.failures} | ${r.latency.p50_ms} | ${r.latency.p99_ms} | ${r.latency.max_ms} |`, '');
  }
  if (r.failover.length) {
    parts.push('## Failover: kill -9 of the primary coreapp under a steady load (kill → first send of the successor)', '',
      '| settings | kills | min ms | median ms | max ms | false failovers | API errors | checker |', '|---|---|---|---|---|---|---|---|',
      ...r.failover.map((f) => `| ${f.settings} | ${f.kills} | ${fmt(f.failover_ms.min)} | ${fmt(f.failover_ms.median)} | ${fmt(f.failover_ms.max)} | ${f.false_failovers} | ${f.api_errors} | ${f.checker.ok ? 'clean' : 'VIOLATION'} |`), '');
  }
  if (r.false_failovers) {
    const f = r.false_failovers;
    parts.push(`False failovers under full load (${f.settings}, ${f.duration_s} s, ${fmt(f.accepted_per_s)} msg/s accepted): **${f.false_failovers}** failovers, ${f.coreapp_unhealthy_events} coreapp_unhealthy events, ${f.api_errors} API errors.`, '');
  }
  if (r.handover) {
    const h = r.handover;
    parts.push(`Planned handover (SIGTERM of the primary, ${h.runs} runs at ${h.rate_per_s} msg/s): gap without sends min ${fmt(h.gap_ms.min)} / median ${fmt(h.gap_ms.median)} / max ${fmt(h.gap_ms.max)} ms; ${h.failed_requests} failed requests; ${h.failovers} failovers.`, '');
  }
  if (r.soak) {
    parts.push('## Soak', '', '| kind | first MB | last MB | max MB | slope MB/min (2nd half) |', '|---|---|---|---|---|',
      ...Object.entries(r.soak.rss).map(([k, v]) => `| ${k} | ${v.first_mb} | ${v.last_mb} | ${v.max_mb} | ${v.slope_mb_per_min_max} |`), '');
  }
  parts.push('## Targets', '', targetRows(r), '');
  if (r.failures.length || r.violations.length) parts.push('## Failures', '', ...[...r.failures, ...r.violations].map((f) => `- ${f}`), '');
  return `${parts.join('\n')}\n`;
}

function svg(width, height, body) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}

/** Bars of end-to-end msg/s per system (start, cluster by shard count), per database. */
export function throughputSvg(r) {
  const items = r.throughput.map((t) => ({ label: `${t.target === 'start' ? 'start' : `${t.shards} sh`} ${t.dialect}`, value: t.end_to_end_per_s }));
  const base = r.baseline?.req_per_s ?? 0;
  const max = Math.max(1, ...items.map((i) => i.value), TARGETS.sqlitePerS);
  const w = 80 + items.length * 70;
  const h = 300;
  const y = (v) => 250 - (v / max) * 210;
  const bars = items.map((it, i) => {
    const x = 60 + i * 70;
    return `<rect x="${x}" y="${y(it.value)}" width="50" height="${250 - y(it.value)}" fill="#3b6ea5"/><text x="${x + 25}" y="${y(it.value) - 4}" text-anchor="middle">${it.value}</text><text x="${x + 25}" y="268" text-anchor="middle">${it.label}</text>`;
  }).join('\n');
  const target = `<line x1="50" x2="${w - 10}" y1="${y(TARGETS.sqlitePerS)}" y2="${y(TARGETS.sqlitePerS)}" stroke="#c0392b" stroke-dasharray="4"/><text x="${w - 12}" y="${y(TARGETS.sqlitePerS) - 4}" text-anchor="end" fill="#c0392b">target ${TARGETS.sqlitePerS} (SQLite)</text>`;
  return svg(w, h, `<text x="10" y="20" font-size="14">End-to-end messages/s (baseline HTTP limit ${base} req/s)</text>\n<line x1="50" x2="50" y1="35" y2="250" stroke="black"/><line x1="50" x2="${w - 10}" y1="250" y2="250" stroke="black"/>\n${bars}\n${target}`);
}

/** Dots of every measured failover time, one row per setting. */
export function failoverSvg(r) {
  const rows = r.failover;
  const all = rows.flatMap((f) => f.samples_ms);
  const max = Math.max(1_000, ...all) * 1.1;
  const w = 640;
  const h = 60 + rows.length * 50;
  const x = (v) => 200 + (v / max) * 400;
  const body = rows.map((f, i) => {
    const yy = 60 + i * 50;
    const dots = f.samples_ms.map((v) => `<circle cx="${x(v).toFixed(1)}" cy="${yy}" r="4" fill="#3b6ea5" fill-opacity="0.7"/>`).join('');
    return `<text x="10" y="${yy + 4}">${f.settings.replace(/ \(.*/, '')}</text>${dots}<text x="${x(f.failover_ms.median)}" y="${yy - 10}" text-anchor="middle">median ${f.failover_ms.median} ms</text>`;
  }).join('\n');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((p) => `<text x="${x(p * max)}" y="${h - 8}" text-anchor="middle">${Math.round((p * max) / 100) / 10} s</text>`).join('');
  return svg(w, h, `<text x="10" y="20" font-size="14">Failover: kill -9 → first send of the successor</text>\n${body}\n<line x1="200" x2="600" y1="${h - 25}" y2="${h - 25}" stroke="black"/>${ticks}`);
}

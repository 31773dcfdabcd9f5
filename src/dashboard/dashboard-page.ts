/**
 * The dashboard's page and stylesheet. Kept as strings in a module (not files beside it) so the
 * build needs no copy step and the page is the same whether the webapp runs from src/ or dist/.
 * The script (`/dashboard/app.js`) is compiled from `client/dashboard-client.ts`. Every colour has a
 * text label next to it; every action is a button reachable with the keyboard; confirmations are
 * native `<dialog>`s (focus stays inside, Escape cancels).
 */

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shardgate dashboard</title>
<link rel="stylesheet" href="/dashboard/dashboard.css">
<script type="module" src="/dashboard/app.js"></script>
</head>
<body>
<header class="top">
  <h1>Shardgate</h1>
  <span id="mode" class="pill" hidden></span>
  <span id="live" class="live" role="status" aria-live="polite"></span>
  <span class="spacer"></span>
  <span id="who" class="who"></span>
  <button id="logout" type="button" hidden>Log out</button>
</header>

<main>
<section id="login-view" class="panel login" aria-labelledby="login-title" hidden>
  <h2 id="login-title">Log in</h2>
  <p class="hint">Use a gateway user (the same as for <code>POST /v1/users/login</code>). Admin actions need the admin user.</p>
  <form id="login-form">
    <label for="username">Username</label>
    <input id="username" name="username" autocomplete="username" required value="admin">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit" class="primary">Log in</button>
    <p id="login-error" class="error" role="alert"></p>
  </form>
</section>

<div id="dash-view" hidden>
  <section class="summary" aria-label="Summary">
    <div class="card"><h2>Masters</h2><p id="sum-masters" class="big">–</p><p id="sum-lease" class="sub"></p></div>
    <div class="card"><h2>Coreapps</h2><p id="sum-coreapps" class="big">–</p><p id="sum-coreapps-sub" class="sub"></p></div>
    <div class="card"><h2>Shards</h2><p id="sum-shards" class="big">–</p><p id="sum-generation" class="sub"></p></div>
    <div class="card"><h2>Per second</h2><p id="sum-rate" class="big">–</p><p class="sub">accepted · sent · delivered</p></div>
    <div class="card"><h2>Queues</h2><p id="sum-queues" class="big">–</p><p class="sub">pending msgs · webhooks · dead</p></div>
  </section>

  <section class="panel" aria-labelledby="topology-title">
    <h2 id="topology-title">Topology</h2>
    <p id="lease-line" class="sub"></p>
    <div class="table-wrap">
    <table id="nodes" class="nodes">
      <thead><tr><th scope="col">Node</th><th scope="col">Role</th><th scope="col">Shard</th><th scope="col">Epoch</th><th scope="col">Gateway</th><th scope="col">DB liveness</th><th scope="col">Heartbeat (per master)</th></tr></thead>
      <tbody></tbody>
    </table>
    </div>
  </section>

  <section class="panel" aria-labelledby="shards-title">
    <h2 id="shards-title">Shard map</h2>
    <ol id="shard-grid" class="shard-grid"></ol>
  </section>

  <div class="two">
    <section class="panel" aria-labelledby="throughput-title">
      <h2 id="throughput-title">Throughput, last 5 minutes</h2>
      <div id="chart" class="chart" role="img" aria-label="messages per second"></div>
      <p class="legend"><span class="sw accepted"></span>accepted <span class="sw sent"></span>sent <span class="sw delivered"></span>delivered</p>
      <p id="chart-note" class="sub"></p>
    </section>
    <section class="panel" aria-labelledby="events-title">
      <h2 id="events-title">Events</h2>
      <ol id="events" class="events"></ol>
    </section>
  </div>

  <section id="admin" class="panel" aria-labelledby="admin-title" hidden>
    <h2 id="admin-title">Admin actions</h2>
    <div class="actions">
      <form id="shards-form" class="action">
        <h3>Shard count</h3>
        <label for="shard-count">New shard count</label>
        <select id="shard-count"><option>1</option><option>2</option><option>4</option><option>8</option><option>16</option><option>32</option></select>
        <button type="submit">Change shard count…</button>
      </form>
      <form id="handover-form" class="action">
        <h3>Graceful handover</h3>
        <label for="handover-shard">Shard to hand over to another coreapp</label>
        <select id="handover-shard"></select>
        <button type="submit">Hand over…</button>
      </form>
      <form id="settings-form" class="action">
        <h3>Failure detection</h3>
        <label for="heartbeat-interval">heartbeat_interval (s)</label>
        <input id="heartbeat-interval" type="number" step="0.1" min="0.1" max="60" required>
        <label for="unhealthy-interval">unhealthy_interval (s)</label>
        <input id="unhealthy-interval" type="number" step="0.1" min="0.5" max="600" required>
        <button type="submit">Save intervals…</button>
      </form>
    </div>
    <p id="action-result" class="result" role="status" aria-live="polite"></p>
  </section>
</div>
</main>

<dialog id="confirm" aria-labelledby="confirm-title">
  <form method="dialog">
    <h2 id="confirm-title">Confirm</h2>
    <p id="confirm-text"></p>
    <div class="dialog-buttons">
      <button value="cancel" id="confirm-cancel">Cancel</button>
      <button value="ok" id="confirm-ok" class="primary">Confirm</button>
    </div>
  </form>
</dialog>
</body>
</html>
`;

export const DASHBOARD_CSS = `
:root { --bg:#f5f6f8; --fg:#1b1f24; --muted:#5b6570; --card:#fff; --line:#d8dde3; --ok:#1a7f37; --warn:#9a6700; --bad:#cf222e; --info:#0969da;
  --accepted:#0969da; --sent:#8250df; --delivered:#1a7f37; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
* { box-sizing: border-box; }
[hidden] { display:none !important; }
body { margin:0; background:var(--bg); color:var(--fg); font-size:15px; line-height:1.4; }
.top { display:flex; align-items:center; gap:.75rem; flex-wrap:wrap; padding:.6rem 1rem; background:#24292f; color:#fff; }
.top h1 { font-size:1.15rem; margin:0; }
.spacer { flex:1; }
.pill { border:1px solid #8c959f; border-radius:999px; padding:.05rem .6rem; font-size:.8rem; }
.live { font-size:.85rem; }
.live.ok::before { content:"● "; color:#4ac26b; }
.live.bad::before { content:"● "; color:#ff8182; }
.who { font-size:.85rem; color:#d0d7de; }
main { padding:1rem; max-width:1400px; margin:0 auto; }
button, input, select { font:inherit; }
button { border:1px solid var(--line); background:#f6f8fa; color:var(--fg); border-radius:6px; padding:.35rem .8rem; cursor:pointer; }
button.primary { background:var(--info); color:#fff; border-color:var(--info); }
button:focus-visible, input:focus-visible, select:focus-visible { outline:3px solid #54aeff; outline-offset:1px; }
.top button { background:transparent; color:#fff; border-color:#8c959f; }
.panel, .card { background:var(--card); border:1px solid var(--line); border-radius:8px; }
.panel { padding:.8rem 1rem; margin-bottom:1rem; }
.panel h2, .card h2 { font-size:.95rem; margin:0 0 .5rem; color:var(--muted); text-transform:uppercase; letter-spacing:.03em; }
.login { max-width:380px; margin:3rem auto; }
.login form { display:grid; gap:.4rem; }
.login button { margin-top:.5rem; }
.hint, .sub { color:var(--muted); font-size:.85rem; margin:.2rem 0; }
.error { color:var(--bad); min-height:1.2em; }
.summary { display:grid; grid-template-columns:repeat(auto-fit, minmax(170px, 1fr)); gap:.75rem; margin-bottom:1rem; }
.card { padding:.6rem .8rem; }
.big { font-size:1.35rem; font-weight:600; margin:0; font-variant-numeric:tabular-nums; }
.table-wrap { overflow-x:auto; }
table.nodes { border-collapse:collapse; width:100%; font-size:.9rem; }
.nodes th, .nodes td { text-align:left; padding:.35rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
.nodes td.num { font-variant-numeric:tabular-nums; }
.nodes tr.dead td { color:var(--muted); }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:.85rem; word-break:break-all; }
.role { display:inline-block; border-radius:4px; padding:0 .4rem; font-size:.8rem; border:1px solid currentColor; white-space:nowrap; }
.role.primary_master, .role.single { color:#6639ba; font-weight:600; }
.role.secondary_master { color:#6e7781; }
.role.coreapp.primary { color:var(--ok); font-weight:600; }
.role.coreapp.secondary { color:#6e7781; }
.role.webapp { color:var(--info); }
.status { white-space:nowrap; }
.status::before { content:"●"; margin-right:.3rem; }
.status.connected::before { color:var(--ok); }
.status.connecting::before { color:var(--warn); }
.status.disconnected::before { color:var(--bad); }
.status.none::before { color:#afb8c1; }
.beats { display:flex; flex-wrap:wrap; gap:.2rem .6rem; font-size:.8rem; }
.beats .late { color:var(--bad); font-weight:600; }
.shard-grid { list-style:none; margin:0; padding:0; display:grid; grid-template-columns:repeat(auto-fill, minmax(122px, 1fr)); gap:.5rem; }
.shard { border:1px solid var(--line); border-left:6px solid var(--ok); border-radius:6px; padding:.35rem .5rem; font-size:.8rem; background:#fbfcfd; }
.shard.unowned { border-left-color:var(--bad); background:#fff5f5; }
.shard.waiting { border-left-color:var(--warn); }
.shard .head { display:flex; justify-content:space-between; align-items:baseline; gap:.3rem; white-space:nowrap; }
.shard .n { font-weight:700; font-size:.95rem; }
.shard .state { font-weight:600; font-size:.75rem; }
.shard.unowned .state { color:var(--bad); }
.shard .owner { font-family: ui-monospace, Menlo, monospace; font-size:.75rem; display:block; word-break:break-all; }
.shard .line { display:block; }
.two { display:grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap:1rem; }
.chart svg { width:100%; height:150px; display:block; }
.chart .axis { stroke:var(--line); }
.chart text { font-size:10px; fill:var(--muted); }
.legend { font-size:.85rem; color:var(--muted); }
.sw { display:inline-block; width:.9rem; height:.25rem; margin:0 .3rem 0 .6rem; vertical-align:middle; }
.sw.accepted { background:var(--accepted); } .sw.sent { background:var(--sent); } .sw.delivered { background:var(--delivered); }
.events { list-style:none; margin:0; padding:0; max-height:320px; overflow-y:auto; font-size:.85rem; }
.events li { padding:.3rem 0; border-bottom:1px solid var(--line); display:grid; grid-template-columns:4.8rem 9.5rem 1fr; gap:.4rem; }
.events time { color:var(--muted); font-variant-numeric:tabular-nums; }
.kind { font-weight:600; }
.kind.failover, .kind.coreapp_unhealthy, .kind.demoted, .kind.promotion_lost { color:var(--bad); }
.kind.promoted, .kind.lease_acquired, .kind.shards_changed { color:var(--ok); }
.kind.shards_changing, .kind.handed_over { color:var(--warn); }
.actions { display:grid; grid-template-columns:repeat(auto-fit, minmax(230px, 1fr)); gap:1rem; }
.action { display:grid; gap:.35rem; align-content:start; border:1px solid var(--line); border-radius:6px; padding:.6rem; }
.action h3 { margin:0; font-size:.95rem; }
.result { min-height:1.2em; font-size:.9rem; }
.result.bad { color:var(--bad); } .result.ok { color:var(--ok); }
dialog { border:1px solid var(--line); border-radius:8px; max-width:min(440px, 92vw); }
dialog::backdrop { background:rgba(27,31,36,.45); }
.dialog-buttons { display:flex; justify-content:flex-end; gap:.5rem; }
@media (max-width: 760px) {
  main { padding:.6rem; }
  .two { grid-template-columns:minmax(0, 1fr); }
  .summary { grid-template-columns:repeat(2, minmax(0, 1fr)); }
  .events li { grid-template-columns:4.5rem 1fr; }
  .events li .what { grid-column: 1 / -1; }
  table.nodes thead { display:none; }
  table.nodes, .nodes tbody, .nodes tr, .nodes td { display:block; width:100%; }
  .nodes tr { border:1px solid var(--line); border-radius:6px; margin-bottom:.5rem; padding:.3rem .5rem; display:grid; grid-template-columns:minmax(0, 1fr) minmax(0, 1fr); gap:0 .6rem; }
  .nodes td { border:none; padding:.1rem 0; display:flex; flex-direction:column; }
  .nodes td::before { content:attr(data-label); color:var(--muted); font-size:.75rem; }
  .nodes td[data-label="Node"], .nodes td[data-label="Heartbeat"] { grid-column:1 / -1; }
  .nodes td > * { align-self:flex-start; }
  .big { font-size:1.1rem; }
  .shard-grid { grid-template-columns:repeat(auto-fill, minmax(100px, 1fr)); }
}
`;

/// The live dashboard at `/`: one page, compiled into the binary — no build step, no CDN, no network
/// beyond the bot's own `/ws/dashboard` (pushed updates; it reconnects by itself) and the Halt / Resume
/// `POST`s. Every figure is set with `textContent`, never as HTML. Stable `data-testid` hooks for tests.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Keel</title>
<link rel="icon" href="data:,">
<style>
  :root { color-scheme: dark; --bg:#0f1419; --panel:#172029; --line:#26323d; --text:#d8dee4; --dim:#7d8b97; --bid:#3fb27f; --ask:#e5534b; --warn:#d29922; }
  * { box-sizing: border-box; }
  body { margin:0; background:var(--bg); color:var(--text); font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; }
  header { display:flex; gap:16px; align-items:center; padding:8px 14px; border-bottom:1px solid var(--line); }
  header h1 { font-size:15px; margin:0; letter-spacing:.04em; }
  .pill { padding:2px 8px; border-radius:10px; background:var(--line); }
  .ok { color:var(--bid); } .bad { color:var(--ask); } .warn { color:var(--warn); } .dim { color:var(--dim); }
  main { display:grid; grid-template-columns: 330px 1fr 1fr; gap:10px; padding:10px; }
  section { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:8px 10px; min-width:0; }
  section h2 { font-size:11px; text-transform:uppercase; letter-spacing:.08em; color:var(--dim); margin:0 0 6px; }
  table { width:100%; border-collapse:collapse; }
  td, th { padding:1px 4px; text-align:right; white-space:nowrap; }
  th { color:var(--dim); font-weight:normal; }
  td:first-child, th:first-child { text-align:left; }
  .ladder td { font-variant-numeric: tabular-nums; padding:0 4px; line-height:1.25; }
  tr.gap td { color:var(--dim); text-align:center; }
  .asks td.px { color:var(--ask); } .bids td.px { color:var(--bid); }
  tr.own td { background:#2b3a4a; } tr.own td.mark::after { content:" ◀ ours"; color:var(--warn); }
  .mid { text-align:center; padding:3px; color:var(--dim); border-top:1px solid var(--line); border-bottom:1px solid var(--line); }
  .kv { display:grid; grid-template-columns: auto 1fr; gap:2px 10px; }
  .kv div:nth-child(odd) { color:var(--dim); }
  .bar { height:8px; background:var(--line); border-radius:4px; position:relative; margin:4px 0 8px; }
  .bar span { position:absolute; top:0; bottom:0; background:var(--warn); border-radius:4px; }
  .bar i { position:absolute; left:50%; top:-2px; bottom:-2px; width:1px; background:var(--dim); }
  button { font:inherit; padding:4px 14px; border-radius:4px; border:1px solid var(--line); background:#22303c; color:var(--text); cursor:pointer; }
  button.halt { border-color:var(--ask); } button.resume { border-color:var(--bid); }
  #socket.down { background:var(--ask); color:#fff; }
  svg { width:100%; height:120px; display:block; }
  .list { max-height:180px; overflow:auto; }
</style>
</head>
<body>
<header>
  <h1>KEEL</h1>
  <span id="socket" class="pill down" data-testid="socket-state">connecting…</span>
  <span>source <b id="source" data-testid="data-source">–</b></span>
  <span>last event <b id="age" data-testid="last-update">–</b></span>
  <span class="dim" id="symbol"></span>
</header>
<main>
  <div>
    <section>
      <h2>Connectors</h2>
      <div data-testid="connector-status" id="status">–</div>
      <table id="sources"></table>
      <div class="kv" style="margin-top:6px">
        <div>restarts</div><div id="restarts">0</div>
        <div>reconnects</div><div id="reconnects">0</div>
        <div>gaps</div><div id="gaps">0</div>
        <div>resyncs</div><div id="resyncs">0</div>
        <div>ready</div><div id="ready">–</div>
        <div>tick→quote</div><div id="latency" data-testid="latency">–</div>
        <div>backfill</div><div id="backfill" data-testid="backfill">–</div>
      </div>
    </section>
    <section style="margin-top:10px">
      <h2>Risk</h2>
      <div><b id="risk" data-testid="risk-state">–</b> <span class="dim" id="trading"></span></div>
      <div id="risk-reasons" class="warn"></div>
      <div style="margin-top:8px; display:flex; gap:8px">
        <button class="halt" id="halt" data-testid="halt">Halt</button>
        <button class="resume" id="resume" data-testid="resume">Resume</button>
      </div>
      <div id="control" class="dim" data-testid="control-result"></div>
    </section>
    <section style="margin-top:10px">
      <h2>Context</h2>
      <div class="kv" data-testid="context">
        <div>VWAP</div><div id="vwap">–</div><div>POC</div><div id="poc">–</div>
        <div>VAH</div><div id="vah">–</div><div>VAL</div><div id="val">–</div><div>CVD</div><div id="cvd">–</div>
      </div>
    </section>
  </div>
  <section>
    <h2>Book <span id="valid"></span></h2>
    <table class="ladder asks"><tbody data-testid="book-asks" id="asks"></tbody></table>
    <div class="mid">mid <b id="mid" data-testid="mid">–</b> · spread <b id="spread" data-testid="spread">–</b></div>
    <table class="ladder bids"><tbody data-testid="book-bids" id="bids"></tbody></table>
  </section>
  <div>
    <section>
      <h2>Position &amp; PnL</h2>
      <div class="kv">
        <div>position</div><div><b id="position" data-testid="position">–</b> <span class="dim">of ±<span id="maxpos">–</span></span></div>
      </div>
      <div class="bar"><i></i><span id="posbar"></span></div>
      <div class="kv">
        <div>avg entry</div><div id="entry">–</div>
        <div>realised</div><div id="realised">–</div>
        <div>unrealised</div><div id="unrealised">–</div>
        <div>fees</div><div id="fees">–</div>
        <div>net</div><div><b id="net" data-testid="pnl-net">–</b></div>
        <div>round trips</div><div id="trips">–</div>
      </div>
      <svg id="curve" viewBox="0 0 400 120" preserveAspectRatio="none" data-testid="pnl-curve"></svg>
    </section>
    <section style="margin-top:10px">
      <h2>Our orders</h2>
      <table><thead><tr><th>side</th><th>price</th><th>qty</th><th>filled</th><th>status</th></tr></thead>
        <tbody data-testid="own-quotes" id="own"></tbody></table>
    </section>
    <section style="margin-top:10px">
      <h2>Recent fills</h2>
      <div class="list"><table><thead><tr><th>time</th><th>side</th><th>price</th><th>qty</th><th>fee</th></tr></thead>
        <tbody id="fills" data-testid="fills"></tbody></table></div>
    </section>
    <section style="margin-top:10px">
      <h2>Trades</h2>
      <div class="list"><table><tbody id="trades" data-testid="trades"></tbody></table></div>
    </section>
  </div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let last = null, lastAt = 0, socket = null;

function text(id, value) { $(id).textContent = (value === null || value === undefined) ? "–" : String(value); }
function row(cells, cls) {
  const tr = document.createElement("tr");
  if (cls) tr.className = cls;
  for (const [value, c] of cells) { const td = document.createElement("td"); td.textContent = value; if (c) td.className = c; tr.appendChild(td); }
  return tr;
}
function fill(id, rows) { const body = $(id); body.replaceChildren(...rows); }
function clock(ns) { return new Date(ns / 1e6).toISOString().slice(11, 23); }

function render(u) {
  const s = u.strategy;
  const active = u.sources.find((x) => x.active) || u.sources[0];
  const status = $("status");
  status.textContent = active ? active.state + (active.reason ? " — " + active.reason : "") : "–";
  status.className = active && active.state === "Connected" ? "ok" : "bad";
  fill("sources", u.sources.map((x) => row([[x.name + (x.active ? " ●" : ""), ""], [x.state, x.state === "Connected" ? "ok" : "bad"],
    ["pid " + (x.pid ?? "–"), "dim"]])));
  text("restarts", u.sources.reduce((n, x) => n + x.restarts, 0));
  text("source", u.data_source.active + (u.data_source.fallback ? " (fallback)" : ""));
  text("reconnects", u.reconnects); text("gaps", u.gaps); text("resyncs", u.resyncs);
  text("ready", u.ready ? "yes" : "no: " + u.ready_reasons.join("; "));
  text("latency", u.latency ? "p50 " + (u.latency.p50_seconds * 1e3).toFixed(2) + " ms · p99 " + (u.latency.p99_seconds * 1e3).toFixed(2) + " ms" : null);

  const own = new Map();
  for (const o of (s ? s.live_orders : [])) own.set(o.side + " " + o.price, o);
  const b = u.book;
  text("symbol", b ? b.symbol : "");
  text("valid", b ? (b.valid ? "" : "(invalid: waiting for a snapshot)") : "(none yet)");
  // The top levels, then (after a gap) our quotes that stand deeper than they reach, at their prices.
  const ladder = (levels, side) => {
    const rows = levels.map(([p, q], i) => {
      const mine = own.get(side + " " + p);
      const tr = row([[p, "px"], [q, ""], [mine ? mine.qty : "", "mark"]], mine ? "own" : "");
      tr.dataset.price = p; if (i === 0) tr.dataset.best = "1"; return tr;
    });
    const shown = new Set(levels.map(([p]) => p));
    const deeper = [...own.values()].filter((o) => o.side === side && !shown.has(o.price))
      .sort((a, b) => side === "buy" ? parseFloat(b.price) - parseFloat(a.price) : parseFloat(a.price) - parseFloat(b.price));
    if (deeper.length) rows.push(row([["⋮", ""], ["", ""], ["", ""]], "gap"));
    for (const o of deeper) { const tr = row([[o.price, "px"], ["", ""], [o.qty, "mark"]], "own"); tr.dataset.price = o.price; rows.push(tr); }
    return rows;
  };
  fill("asks", b ? ladder(b.asks, "sell").reverse() : []);
  fill("bids", b ? ladder(b.bids, "buy") : []);
  text("mid", b ? b.mid : null); text("spread", b ? b.spread : null);
  fill("trades", u.trades.map((t) => row([[clock(t.time), "dim"], [t.side, t.side === "buy" ? "ok" : "bad"], [t.price, ""], [t.qty, ""]])));

  if (s) {
    fill("own", s.live_orders.map((o) => { const tr = row([[o.side, o.side === "buy" ? "ok" : "bad"], [o.price, ""], [o.qty, ""], [o.filled, ""], [o.status, "dim"]]);
      tr.dataset.price = o.price; tr.dataset.side = o.side; return tr; }));
    text("position", s.position); text("maxpos", u.max_position);
    const pos = parseFloat(s.position), max = parseFloat(u.max_position || "0");
    const bar = $("posbar"), share = max > 0 ? Math.max(-1, Math.min(1, pos / max)) : 0;
    bar.style.left = (50 + Math.min(0, share) * 50) + "%"; bar.style.width = Math.abs(share) * 50 + "%";
    text("entry", s.average_entry); text("realised", s.pnl.realised); text("unrealised", s.pnl.unrealised);
    text("fees", s.pnl.fees); text("net", s.pnl.net);
    $("net").className = parseFloat(s.pnl.net) >= 0 ? "ok" : "bad";
    text("trips", s.round_trips + " (" + s.losing_round_trips + " losing)");
    text("risk", s.risk.state); $("risk").className = s.risk.state === "ACTIVE" ? "ok" : "bad";
    text("trading", s.trading_allowed ? "quoting" : s.trading_reason);
    text("risk-reasons", s.risk.reasons.join("; "));
    const bf = s.backfill;
    text("backfill", bf.state === "running" ? bf.chunk + "/" + bf.chunks + " chunks, " + bf.candles + " candles" : bf.state + (bf.reason ? ": " + bf.reason : ""));
    drawCurve(u.pnl_curve, parseFloat(s.pnl.net), Math.floor(u.time / 1e6));
  }
  fill("fills", u.fills.map((f) => row([[clock(f.time), "dim"], [f.side, f.side === "buy" ? "ok" : "bad"], [f.price, ""], [f.qty, ""], [f.fee, "dim"]])));
  const c = u.context;
  text("vwap", c && c.vwap); text("poc", c && c.poc); text("vah", c && c.vah); text("val", c && c.val); text("cvd", c && c.cvd);
  tickAge();
}

function drawCurve(points, now, time) {
  const svg = $("curve");
  const all = points.concat(isNaN(now) ? [] : [[time, now]]);
  if (all.length < 2) { svg.replaceChildren(); return; }
  const t0 = all[0][0], t1 = all[all.length - 1][0];
  let lo = Math.min(0, ...all.map((p) => p[1])), hi = Math.max(0, ...all.map((p) => p[1]));
  if (hi - lo < 1e-9) { hi += 1; lo -= 1; }
  const x = (t) => (t1 > t0 ? (t - t0) / (t1 - t0) : 0) * 396 + 2, y = (v) => 116 - (v - lo) / (hi - lo) * 112;
  const ns = "http://www.w3.org/2000/svg";
  const zero = document.createElementNS(ns, "line");
  zero.setAttribute("x1", 0); zero.setAttribute("x2", 400); zero.setAttribute("y1", y(0)); zero.setAttribute("y2", y(0));
  zero.setAttribute("stroke", "#7d8b97"); zero.setAttribute("stroke-dasharray", "3 3");
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", all.map((p) => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" "));
  line.setAttribute("fill", "none"); line.setAttribute("stroke", now >= 0 ? "#3fb27f" : "#e5534b"); line.setAttribute("stroke-width", "1.5");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.replaceChildren(zero, line);
}

function tickAge() {
  const active = last && (last.sources.find((x) => x.active) || last.sources[0]);
  if (!active || active.seconds_since_last_event === null) { text("age", null); return; }
  const age = active.seconds_since_last_event + (socket && socket.readyState === 1 ? (Date.now() - lastAt) / 1000 : 0);
  text("age", age.toFixed(1) + " s ago");
  $("age").className = age > 5 ? "bad" : "ok";
}

function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/dashboard");
  socket = ws;
  ws.onopen = () => { $("socket").textContent = "live"; $("socket").className = "pill ok"; };
  ws.onmessage = (e) => { last = JSON.parse(e.data); lastAt = Date.now(); render(last); };
  ws.onclose = () => {
    $("socket").textContent = "disconnected — reconnecting"; $("socket").className = "pill down";
    $("status").textContent = "bot unreachable"; $("status").className = "bad";
    setTimeout(connect, 1000);
  };
}

async function control(action) {
  if (!confirm(action === "halt" ? "Halt trading? Every order is cancelled and quoting stops." : "Resume quoting?")) return;
  const headers = {};
  if (last && last.token_required) {
    let token = sessionStorage.getItem("keel-token");
    if (!token) { token = prompt("API token (monitoring.api_token)"); if (!token) return; sessionStorage.setItem("keel-token", token); }
    headers["Authorization"] = "Bearer " + token;
  }
  const response = await fetch("/strategy/" + action, { method: "POST", headers });
  if (response.status === 401) sessionStorage.removeItem("keel-token");
  const body = await response.json().catch(() => ({}));
  $("control").textContent = action + ": " + (response.ok ? "risk " + body.risk.state : (body.error || response.status));
}
$("halt").onclick = () => control("halt");
$("resume").onclick = () => control("resume");
setInterval(tickAge, 250);
connect();
</script>
</body>
</html>
"""#
}

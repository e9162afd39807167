// Live status: one websocket; pushed changes are applied to the tables without a reload.
// The markup of every row matches what web/templates/status.html renders on first load.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const esc = (v) => CSS.escape(String(v));
  const text = (v) => (v === null || v === undefined ? "" : String(v));
  const secs = (v) => (v === null || v === undefined || v === "" ? "" : Number(v).toFixed(1));
  const MAX_ATTEMPTS = 50;

  // The dialer pushes the step a call reached (answered, queued, connected); the
  // snapshot names the phase it is in. The page always shows the phase.
  const PHASE = {
    ringing: "ringing", answered: "waiting", queued: "waiting", waiting: "waiting",
    connected: "talking", talking: "talking",
  };
  const RANK = { ringing: 0, waiting: 1, talking: 2 };
  // Same words as the template uses.
  const PBX_STATE = {
    ready: "Connected", connecting: "Connecting…", logged_in: "Starting…",
    auth_failed: "Login refused", closed: "Closed",
  };
  // Attempts already over: a late message about them must not bring their call back.
  const ended = new Set();

  function cell(row, value, cls) {
    const td = document.createElement("td");
    td.textContent = text(value);
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function badge(row, value, cellCls, badgeCls) {
    const td = cell(row, "", cellCls);
    const span = document.createElement("span");
    span.className = "badge " + badgeCls;
    span.textContent = text(value);
    td.appendChild(span);
    return td;
  }

  function campaignName(id) {
    const row = $(`#campaigns tbody tr[data-campaign="${esc(id)}"]`);
    return row ? row.dataset.name : "";
  }

  function campaignCell(row, id, name) {
    const td = cell(row, "", "c-campaign");
    const ref = document.createElement("span");
    ref.className = "ref";
    ref.textContent = "#" + text(id);
    td.append(ref, " " + text(name || campaignName(id)));
  }

  function flash(row) {
    row.classList.remove("flash");
    void row.offsetWidth; // restart the highlight animation
    row.classList.add("flash");
  }

  // -- calls now ---------------------------------------------------------------

  function liveRow(call) {
    if (ended.has(Number(call.attempt_id))) return;
    const phase = PHASE[call.phase] || text(call.phase);
    const body = $("#live-calls tbody");
    let row = body.querySelector(`tr[data-attempt="${esc(call.attempt_id)}"]`);
    let agent = call.agent;
    if (row) {
      // Messages can overtake one another; a call never goes back to an earlier phase.
      if ((RANK[phase] ?? 0) < (RANK[row.dataset.phase] ?? 0)) return;
      if (!agent) agent = row.querySelector(".c-agent").textContent;
    } else {
      row = document.createElement("tr");
      row.dataset.attempt = call.attempt_id;
      body.appendChild(row);
      // A new call took a record from Ready (the snapshot's counts already show it).
    }
    const changed = row.dataset.phase !== phase;
    row.dataset.phase = phase;
    row.replaceChildren();
    cell(row, call.attempt_id, "num c-id");
    campaignCell(row, call.campaign_id);
    cell(row, call.phone, "c-phone");
    badge(row, phase, "c-phase", "phase phase-" + phase);
    cell(row, agent, "c-agent");
    if (changed) flash(row);
    updateLive();
  }

  function updateLive() {
    const rows = $("#live-calls tbody").children;
    $("#live-count").textContent = rows.length;
    const by = { ringing: 0, waiting: 0, talking: 0 };
    for (const row of rows) if (row.dataset.phase in by) by[row.dataset.phase] += 1;
    for (const phase of Object.keys(by)) $("#kpi-" + phase).textContent = by[phase];
    empty("live-calls");
  }

  // -- latest attempts ---------------------------------------------------------

  function clockTime(ts) {
    if (ts === null || ts === undefined || ts === "") return "";
    return new Date(Number(ts) * 1000).toLocaleTimeString([], { hour12: false });
  }

  function attemptRow(a) {
    const row = document.createElement("tr");
    row.dataset.attempt = a.attempt_id;
    row.dataset.result = a.result;
    cell(row, a.attempt_id, "num c-id");
    cell(row, clockTime(a.at), "c-ended").dataset.ts = text(a.at);
    campaignCell(row, a.campaign_id, a.campaign_name);
    cell(row, a.phone, "c-phone");
    badge(row, a.result, "c-result", "result result-" + a.result);
    cell(row, a.agent, "c-agent");
    cell(row, secs(a.ring_s), "num c-ring");
    cell(row, secs(a.wait_s), "num c-wait");
    cell(row, secs(a.talk_s), "num c-talk");
    return row;
  }

  // An attempt the PBX would not place: no call, nothing to list among the attempts.
  function callCancelled(m) {
    ended.add(Number(m.attempt_id));
    const live = $(`#live-calls tbody tr[data-attempt="${esc(m.attempt_id)}"]`);
    if (live) live.remove();
    updateLive();
  }

  function attemptEnded(a) {
    ended.add(Number(a.attempt_id));
    const live = $(`#live-calls tbody tr[data-attempt="${esc(a.attempt_id)}"]`);
    if (live) live.remove();
    updateLive();
    const body = $("#attempts tbody");
    const old = body.querySelector(`tr[data-attempt="${esc(a.attempt_id)}"]`);
    if (old) old.remove();
    const row = attemptRow(a);
    flash(row);
    body.prepend(row);
    while (body.children.length > MAX_ATTEMPTS) body.lastElementChild.remove();
    updateAttempts();
  }

  function updateAttempts() {
    const rows = $("#attempts tbody").children;
    let ok = 0;
    for (const row of rows) if (row.dataset.result === "SUCCESS") ok += 1;
    $("#kpi-success").textContent = rows.length ? Math.round((100 * ok) / rows.length) + "%" : "–";
    $("#kpi-success-of").textContent = rows.length;
    empty("attempts");
  }

  // -- campaigns ---------------------------------------------------------------

  function campaignRow(c, records) {
    const body = $("#campaigns tbody");
    let row = body.querySelector(`tr[data-campaign="${esc(c.id)}"]`);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.campaign = c.id;
      body.appendChild(row);
      flash(row);
    }
    // A campaign message may come without record counts: keep the ones shown.
    const r = records || c.records || JSON.parse(row.dataset.records || "{}");
    row.dataset.name = text(c.name);
    row.dataset.status = text(c.status);
    row.dataset.records = JSON.stringify(r);
    const status = text(c.status);
    const total = Object.values(r).reduce((s, n) => s + n, 0);
    const done = (r.handled || 0) + (r.max_calls || 0) + (r.filtered || 0) + (r.cancelled || 0);
    const pct = total ? Math.round((100 * done) / total) : 0;
    row.replaceChildren();
    cell(row, c.id, "num c-id");
    cell(row, c.name, "c-name");
    badge(row, status.charAt(0).toUpperCase() + status.slice(1), "c-status", "status status-" + status);
    cell(row, c.queue, "c-queue");
    cell(row, r.ready || 0, "num c-ready");
    cell(row, r.in_progress || 0, "num c-in-progress");
    cell(row, r.handled || 0, "num c-handled");
    cell(row, r.max_calls || 0, "num c-max-calls");
    const progress = cell(row, "", "c-progress");
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = pct + "%";
    bar.appendChild(fill);
    const label = document.createElement("span");
    label.className = "pct";
    label.textContent = pct + "%";
    progress.append(bar, label);
    updateCampaigns();
  }

  function updateCampaigns() {
    const active = document.querySelectorAll('#campaigns tbody tr[data-status="active"]').length;
    $("#kpi-campaigns").textContent = active;
    empty("campaigns");
  }

  // -- Asterisk servers ----------------------------------------------------------

  function pbxState(p) {
    const list = $("#pbx-list");
    let li = list.querySelector(`li[data-pbx="${esc(p.name)}"]`);
    if (!li) {
      li = document.createElement("li");
      li.dataset.pbx = p.name;
      list.appendChild(li);
    }
    li.className = "pbx pbx-" + p.state;
    li.replaceChildren();
    const b = document.createElement("b");
    b.textContent = p.name;
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = PBX_STATE[p.state] || text(p.state);
    const span = document.createElement("span");
    span.className = "detail";
    span.textContent = text(p.detail);
    li.append(b, " ", state, " ", span);
  }

  // -- whole picture -----------------------------------------------------------

  function empty(table) {
    const note = document.querySelector(`[data-empty-for="${table}"]`);
    if (note) note.hidden = $(`#${table} tbody`).children.length > 0;
  }

  function snapshot(s) {
    $("#live-calls tbody").replaceChildren();
    s.campaigns.forEach((c) => campaignRow(c, c.records));
    s.live.forEach((call) => liveRow({ ...call, known: true }));
    updateLive();
    s.pbx.forEach(pbxState);
    // After a reconnect, attempts that ended while the page was away are in here.
    const rows = s.attempts
      .filter((a) => a.state === "ended")
      .map((a) => attemptRow({ ...a, attempt_id: a.id, at: a.ended_at }));
    rows.forEach((row) => ended.add(Number(row.dataset.attempt)));
    $("#attempts tbody").replaceChildren(...rows);
    updateAttempts();
  }

  function onMessage(m) {
    if (m.type === "snapshot") snapshot(m);
    else if (m.type === "call") liveRow(m);
    else if (m.type === "attempt_ended") attemptEnded(m);
    else if (m.type === "call_cancelled") callCancelled(m);
    else if (m.type === "campaign") campaignRow(m.campaign, m.campaign.records);
    else if (m.type === "pbx") pbxState(m);
    document.body.dataset.lastMessage = m.type;
  }

  document.querySelectorAll("#attempts td.c-ended[data-ts]").forEach((td) => {
    td.textContent = clockTime(td.dataset.ts);
  });
  window.pbxLive("/ws", onMessage, { delay: 500, maxDelay: 10000 });
})();

// Live status: one websocket, pushed changes applied to the tables without reload.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const text = (v) => (v === null || v === undefined ? "" : String(v));
  const secs = (v) => (v === null || v === undefined ? "" : Number(v).toFixed(1));

  function cell(row, value, cls) {
    const td = document.createElement("td");
    td.textContent = text(value);
    if (cls) td.className = cls;
    row.appendChild(td);
  }

  function liveRow(call) {
    const body = $("#live-calls tbody");
    let row = body.querySelector(`tr[data-attempt="${call.attempt_id}"]`);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.attempt = call.attempt_id;
      body.appendChild(row);
    }
    row.replaceChildren();
    cell(row, call.attempt_id);
    cell(row, call.campaign_id);
    cell(row, call.phone);
    cell(row, call.phase, "phase phase-" + call.phase);
    cell(row, call.agent);
    row.classList.add("flash");
    updateCount();
  }

  function updateCount() {
    $("#live-count").textContent = $("#live-calls tbody").children.length;
  }

  function attemptEnded(a) {
    const live = $(`#live-calls tbody tr[data-attempt="${a.attempt_id}"]`);
    if (live) live.remove();
    updateCount();
    const body = $("#attempts tbody");
    const old = body.querySelector(`tr[data-attempt="${a.attempt_id}"]`);
    if (old) old.remove();
    const row = document.createElement("tr");
    row.dataset.attempt = a.attempt_id;
    cell(row, a.attempt_id);
    cell(row, a.campaign_id);
    cell(row, a.phone);
    cell(row, a.result, "result result-" + a.result);
    cell(row, a.agent);
    cell(row, secs(a.ring_s));
    cell(row, secs(a.wait_s));
    cell(row, secs(a.talk_s));
    row.classList.add("flash");
    body.prepend(row);
    while (body.children.length > 50) body.lastElementChild.remove();
  }

  function campaignRow(c) {
    const body = $("#campaigns tbody");
    let row = body.querySelector(`tr[data-campaign="${c.id}"]`);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.campaign = c.id;
      body.appendChild(row);
    }
    const r = c.records || {};
    row.replaceChildren();
    cell(row, c.id);
    cell(row, c.name);
    cell(row, c.status.charAt(0).toUpperCase() + c.status.slice(1), "status status-" + c.status);
    cell(row, c.queue);
    cell(row, r.ready || 0);
    cell(row, r.in_progress || 0);
    cell(row, r.handled || 0);
    cell(row, r.max_calls || 0);
  }

  function pbxState(p) {
    const list = $("#pbx-list");
    let li = list.querySelector(`li[data-pbx="${p.name}"]`);
    if (!li) {
      li = document.createElement("li");
      li.dataset.pbx = p.name;
      list.appendChild(li);
    }
    li.className = "pbx pbx-" + p.state;
    li.replaceChildren();
    const b = document.createElement("b");
    b.textContent = p.name;
    const span = document.createElement("span");
    span.className = "detail";
    span.textContent = " " + p.detail;
    li.append(b, span);
  }

  function snapshot(s) {
    $("#live-calls tbody").replaceChildren();
    s.live.forEach(liveRow);
    s.campaigns.forEach(campaignRow);
    s.pbx.forEach(pbxState);
    updateCount();
  }

  let delay = 500;
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws`);
    const state = $("#link-state");
    ws.onopen = () => { delay = 500; state.textContent = "live"; state.className = "pill pill-on"; };
    ws.onclose = () => {
      state.textContent = "reconnecting…"; state.className = "pill pill-off";
      setTimeout(connect, delay); delay = Math.min(delay * 2, 10000);
    };
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === "snapshot") snapshot(m);
      else if (m.type === "call") liveRow(m);
      else if (m.type === "attempt_ended") attemptEnded(m);
      else if (m.type === "campaign") campaignRow(m.campaign);
      else if (m.type === "pbx") pbxState(m);
      document.body.dataset.lastMessage = m.type;
    };
  }
  connect();
})();

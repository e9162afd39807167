// Campaign details: the nested pie, real-time metrics, why not dialing, and the tabs.
// Everything is read through window.pbxApi; the page's websocket only says *that*
// something of this campaign changed, and the parts it touches are read again.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => [...(root || document).querySelectorAll(sel)];
  const root = $("#details");
  const campaignId = Number(root.dataset.campaign);
  const queue = root.dataset.queue;
  const maySteer = root.dataset.maySteer === "yes";
  const api = (url, method, body) => window.pbxApi(method || "GET", url, body);
  const base = `/api/campaigns/${campaignId}`;
  let dayStart = Number(root.dataset.dayStart);

  const text = (v) => (v === null || v === undefined ? "" : String(v));
  const pad = (n) => String(n).padStart(2, "0");
  function when(seconds) {
    if (seconds === null || seconds === undefined || seconds === "") return "";
    const d = new Date(Number(seconds) * 1000);
    const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    return `${day} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  function el(tag, cls, content) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined) node.textContent = text(content);
    return node;
  }
  function cell(row, content, cls) {
    const td = el("td", cls, content);
    row.appendChild(td);
    return td;
  }
  function badge(value, cls) {
    return el("span", "badge " + (cls || ""), value);
  }
  function showError(node, error) {
    if (!node) return;
    node.textContent = error ? error.message : "";
    node.hidden = !error;
  }
  function recordingLink(attemptId) {
    const a = el("a", "recording", "▶ recording");
    a.href = `/api/attempts/${attemptId}/recording`;
    a.setAttribute("download", "");
    a.dataset.attempt = attemptId;
    return a;
  }

  // -- the nested pie -------------------------------------------------------------------
  const C = 110;
  const RINGS = { outer: [104, 76], inner: [74, 48] };

  function point(r, deg) {
    const rad = ((deg - 90) * Math.PI) / 180;
    return `${(C + r * Math.cos(rad)).toFixed(3)} ${(C + r * Math.sin(rad)).toFixed(3)}`;
  }
  function arc(r1, r2, start, end) {
    // A ring sector. One arc cannot close a circle: a whole ring is two circles of two
    // half arcs each, the inner one cut out (fill-rule evenodd), with no seam to stroke.
    if (end - start >= 359.999) {
      const circle = (r, sweep) => `M ${point(r, start)} A ${r} ${r} 0 1 ${sweep} ${point(r, start + 180)} ` +
        `A ${r} ${r} 0 1 ${sweep} ${point(r, start)} Z`;
      return `${circle(r1, 1)} ${circle(r2, 0)}`;
    }
    const large = end - start > 180 ? 1 : 0;
    return [
      `M ${point(r1, start)}`,
      `A ${r1} ${r1} 0 ${large} 1 ${point(r1, end)}`,
      `L ${point(r2, end)}`,
      `A ${r2} ${r2} 0 ${large} 0 ${point(r2, start)}`,
      "Z",
    ].join(" ");
  }
  function sector(group, ring, cls, start, end, data, label) {
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", arc(RINGS[ring][0], RINGS[ring][1], start, end));
    path.setAttribute("class", cls);
    path.setAttribute("fill-rule", "evenodd");
    path.dataset.start = start.toFixed(3);
    path.dataset.end = end.toFixed(3);
    Object.assign(path.dataset, data);
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = label;
    path.appendChild(title);
    path.addEventListener("mouseenter", (ev) => tip(label, ev));
    path.addEventListener("mousemove", (ev) => tip(label, ev));
    path.addEventListener("mouseleave", () => { $("#pie-tip").hidden = true; });
    group.appendChild(path);
  }
  function tip(label, ev) {
    const box = $("#pie-tip");
    const wrap = box.parentElement.getBoundingClientRect();
    box.textContent = label;
    box.hidden = false;
    box.style.left = `${ev.clientX - wrap.left + 12}px`;
    box.style.top = `${ev.clientY - wrap.top + 12}px`;
  }
  const pct = (v) => `${Number(v).toFixed(1)}%`;
  const records = (n) => `${n} record${n === 1 ? "" : "s"}`;

  function drawPie(pie) {
    const outer = $("#pie-outer");
    const inner = $("#pie-inner");
    outer.replaceChildren();
    inner.replaceChildren();
    $("#pie-total").textContent = pie.total;
    $("#pie-center").textContent = pie.total;
    let angle = 0;
    for (const seg of pie.segments) {
      const li = $(`#pie-legend li[data-segment="${seg.key}"]`);
      li.querySelector(".legend-count").textContent = seg.count;
      li.querySelector(".legend-pct").textContent = pct(seg.pct);
      li.title = `${seg.label}: ${records(seg.count)} (${pct(seg.pct)})`;
      const parts = li.querySelector(".legend-parts");
      parts.replaceChildren();
      if (!pie.total || !seg.count) continue;
      const span = (360 * seg.count) / pie.total;
      const label = `${seg.label}: ${records(seg.count)} (${pct(seg.pct)})`;
      sector(outer, "outer", `seg seg-${seg.key}`, angle, angle + span,
        { segment: seg.key, count: seg.count }, label);
      let inside = angle;
      seg.parts.forEach((part, i) => {
        const partSpan = (360 * part.count) / pie.total;
        const partLabel = `${seg.label} · ${part.label}: ${records(part.count)} (${pct(part.pct)})`;
        sector(inner, "inner", `seg seg-${seg.key} shade-${i % 5}`, inside, inside + partSpan,
          { segment: seg.key, part: part.key, count: part.count }, partLabel);
        inside += partSpan;
        const item = el("li", "legend-part");
        item.dataset.part = part.key;
        item.title = partLabel;
        item.append(el("i", `swatch seg-${seg.key} shade-${i % 5}`), el("span", "", part.label),
          el("span", "legend-count", part.count), el("span", "legend-pct", pct(part.pct)));
        parts.appendChild(item);
      });
      angle += span;
    }
    root.dataset.pieTotal = pie.total;
  }
  async function loadPie() {
    drawPie(await api(`${base}/pie`));
  }

  // -- real-time metrics and why not dialing ----------------------------------------------
  async function loadRealtime() {
    const m = await api(`${base}/realtime`);
    dayStart = m.day_start;
    for (const [key, value] of Object.entries(m.agents)) $(`#m-${key}`).textContent = value;
    for (const [key, value] of Object.entries(m.calls)) $(`#m-${key}`).textContent = value;
    $("#m-dial_level").textContent = m.dial_level === null ? "–" : m.dial_level.toFixed(2);
    for (const key of ["today", "30d"]) {
      const a = m.abandonment[key];
      const node = $(`#m-abandon_${key}`);
      node.textContent = pct(a.pct);
      node.classList.toggle("over", a.pct > m.abandonment.max_pct);
      $(`#m-abandon_${key}_n`).textContent = `${a.abandoned}/${a.answered}`;
    }
  }
  async function loadWhy() {
    const why = await api(`${base}/why`);
    const list = $("#why");
    list.replaceChildren();
    if (why.placing_calls) list.appendChild(el("li", "why-ok", `placing calls (${why.live_calls} on now)`));
    for (const r of why.reasons) {
      const li = el("li", "why-" + r.code, r.text);
      li.dataset.code = r.code;
      list.appendChild(li);
    }
  }

  // -- steering: Active / Passive ----------------------------------------------------------
  function setStatus(status) {
    root.dataset.status = status;
    const node = $("#campaign-status");
    node.className = `badge status-${status}`;
    node.textContent = status.charAt(0).toUpperCase() + status.slice(1);
    const toggle = $("#active-toggle");
    if (toggle) {
      toggle.checked = status === "active";
      toggle.disabled = status === "stopped" || status === "completed";
      $("#active-label").textContent = status === "active" ? "Active" : "Passive";
    }
  }
  // The dialer's own pause (e.g. every call failing the same way), until played again.
  function setAlert(alert) {
    const node = $("#campaign-alert");
    node.textContent = alert ? alert.text : "";
    node.hidden = !alert;
  }
  const toggle = $("#active-toggle");
  if (toggle && maySteer) {
    toggle.addEventListener("change", async () => {
      const wanted = toggle.checked ? "play" : "pause";
      toggle.disabled = true;
      try {
        const campaign = await api(`${base}/${wanted}`, "POST");
        showError($("#steer-error"), null);
        setStatus(campaign.status);
        setAlert(campaign.alert);
      } catch (error) {
        showError($("#steer-error"), error);
        setStatus(root.dataset.status);
      }
      refresh(["why", "realtime"]);
    });
  }

  // -- tabs -------------------------------------------------------------------------------
  let tab = "customers";
  function openTab(name) {
    tab = name;
    for (const button of $$(".tabs [role=tab]")) {
      const on = button.id === `tab-${name}`;
      button.setAttribute("aria-selected", on ? "true" : "false");
      $("#" + button.getAttribute("aria-controls")).hidden = !on;
    }
    root.dataset.tab = name;
    loadTab();
  }
  for (const button of $$(".tabs [role=tab]")) {
    button.addEventListener("click", () => openTab(button.id.slice(4)));
  }
  function loadTab() {
    const loaders = { customers: loadCustomers, delivery: loadDelivery, transfers: loadTransfers, records: loadRecords };
    return guarded(loaders[tab], $(`#pane-${tab} .error`))();
  }

  // -- customers -----------------------------------------------------------------------------
  const PAGE = 25;
  let offset = 0;
  let search = {};
  async function loadCustomers() {
    const params = new URLSearchParams({ ...search, limit: PAGE, offset });
    const body = await api(`${base}/customers?${params}`);
    const tbody = $("#customers tbody");
    tbody.replaceChildren();
    const anyMode = body.customers.some((c) => c.dial_mode);
    for (const th of $$("#customers .col-mode")) th.hidden = !anyMode;
    for (const c of body.customers) {
      const row = el("tr");
      row.dataset.record = c.id;
      cell(row, c.name, "c-name");
      const phones = cell(row, "", "c-phone");
      for (const p of c.phones) {
        const a = el("a", "phone-link", p.phone);
        a.href = `#record-${c.id}`;
        a.dataset.phone = p.phone;
        a.title = `${p.attempts} attempts to ${p.phone}` + (p.last_result ? `, last ${p.last_result}` : "") + (p.next ? ", dialed next" : "");
        if (p.next) a.classList.add("next-number");
        a.addEventListener("click", (ev) => { ev.preventDefault(); guarded(() => showAttempts(row, c, p.phone))(); });
        const tally = el("span", "ref number-tally", ` (${p.attempts}${p.last_result ? " · " + p.last_result : ""}${p.next ? " · next" : ""})`);
        phones.append(a, tally);
      }
      cell(row, "", "c-result").appendChild(badge(c.result, "cr-" + c.result.replace(" ", "_")));
      // A waiting record whose next attempt is not in the future is due now.
      const dueNow = c.time_kind === "next" && (c.time === null || c.time <= Date.now() / 1000);
      const shown = c.time_kind === "held" ? "list disabled" : dueNow ? "due now" : when(c.time);
      const t = cell(row, shown, "c-time");
      t.title = { next: "next attempt", since: "on a call since", handled: "handled", held: "not dialed while its contact list is disabled" }[c.time_kind] || "";
      if (c.time_kind === "next" && !dueNow) t.prepend(el("span", "ref", "next "));
      const result = cell(row, "", "c-call-result");
      if (c.call_result) result.appendChild(badge(c.call_result, "result-" + c.call_result));
      cell(row, c.classification, "c-class");
      cell(row, c.external_id, "c-ext");
      if (anyMode) cell(row, c.dial_mode, "c-mode");
      const why = el("button", "why-button", "Why?");
      why.type = "button";
      why.addEventListener("click", () => guarded(() => showWhy(row, c))());
      cell(row, "").appendChild(why);
      tbody.appendChild(row);
    }
    const last = Math.min(body.offset + body.customers.length, body.total);
    $("#customers-range").textContent = body.total ? `${body.offset + 1}–${last} of ${body.total}` : "0 of 0";
    $("#customers-prev").disabled = body.offset === 0;
    $("#customers-next").disabled = last >= body.total;
    root.dataset.customersTotal = body.total;
  }
  function drawer(row, kind) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains("drawer")) {
      const same = next.dataset.kind === kind;
      next.remove();
      if (same) return null;
    }
    const tr = el("tr", "drawer");
    tr.dataset.kind = kind;
    const td = el("td");
    td.colSpan = row.children.length;
    tr.appendChild(td);
    row.after(tr);
    return td;
  }
  // What the network said about the customer's leg: "SIP 486 · Q.850 17".
  function network(a) {
    const parts = [];
    if (a.sip_status !== null && a.sip_status !== undefined) parts.push(`SIP ${a.sip_status}`);
    if (a.cause_code !== null && a.cause_code !== undefined) parts.push(`Q.850 ${a.cause_code}`);
    return parts.join(" · ");
  }
  // A call that ended while the dialer was not listening has no known talk time.
  function talk(a) {
    if (a.times_known === false) return "unknown";
    return a.talk_s === null ? "" : Number(a.talk_s).toFixed(1);
  }
  async function showAttempts(row, customer, phone) {
    const td = drawer(row, "attempts:" + phone);
    if (!td) return;
    const body = await api(`${base}/records/${customer.id}/attempts`);
    const mine = body.attempts.filter((a) => a.phone === phone);
    td.appendChild(el("b", "", `Attempts to ${phone}: ${mine.length}`));
    if (!mine.length) return;
    const table = el("table", "grid attempts");
    table.innerHTML = "<thead><tr><th>#</th><th>Placed</th><th>Call Result</th><th>Network</th><th>Classification</th><th>Agent</th><th class='num'>Talk s</th><th>Recording</th></tr></thead>";
    const tb = el("tbody");
    for (const a of mine) {
      const tr = el("tr");
      tr.dataset.attempt = a.id;
      cell(tr, a.id, "c-id");
      cell(tr, when(a.placed_at));
      const r = cell(tr, "");
      r.appendChild(badge(a.result || a.state, a.result ? "result-" + a.result : "phase"));
      cell(tr, network(a), "c-network");
      cell(tr, a.classification);
      cell(tr, a.agent, "c-agent");
      cell(tr, talk(a), "num c-talk");
      const rec = cell(tr, "");
      if (a.recording) rec.appendChild(recordingLink(a.id));
      tb.appendChild(tr);
    }
    table.appendChild(tb);
    td.appendChild(table);
  }
  async function showWhy(row, customer) {
    const td = drawer(row, "why");
    if (!td) return;
    const why = await api(`${base}/records/${customer.id}/why`);
    td.appendChild(el("b", "", `Why ${customer.name || customer.phones[0].phone} is not being dialed now:`));
    const list = el("ul", "why why-record");
    if (!why.reasons.length) list.appendChild(el("li", "why-ok", "nothing holds it back"));
    for (const r of why.reasons) {
      const li = el("li", "", r.text);
      li.dataset.code = r.code;
      list.appendChild(li);
    }
    td.appendChild(list);
  }
  $("#customer-search").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    search = {};
    for (const [key, value] of form.entries()) if (String(value).trim()) search[key] = String(value).trim();
    offset = 0;
    guarded(loadCustomers, $("#customers-error"))();
  });
  $("#customer-search").addEventListener("reset", () => {
    search = {};
    offset = 0;
    setTimeout(guarded(loadCustomers, $("#customers-error")), 0);
  });
  $("#customers-prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); loadTab(); });
  $("#customers-next").addEventListener("click", () => { offset += PAGE; loadTab(); });

  // -- periods (delivery, transfers, record status) ------------------------------------------
  const PERIOD_LABELS = { today: "Today", "24h": "Last 24 hours", "7d": "Last 7 days", custom: "Custom" };
  for (const form of $$(".period-form")) {
    const slot = $(".period-slot", form);
    const select = el("select");
    select.name = "period";
    for (const [value, label] of Object.entries(PERIOD_LABELS)) {
      const option = el("option", "", label);
      option.value = value;
      select.appendChild(option);
    }
    const since = el("input");
    since.type = "datetime-local";
    since.name = "since";
    since.hidden = true;
    const until = el("input");
    until.type = "datetime-local";
    until.name = "until";
    until.hidden = true;
    const label = el("label", "", "Period ");
    label.appendChild(select);
    slot.replaceWith(label, since, until);
    form.addEventListener("change", () => {
      const custom = select.value === "custom";
      since.hidden = !custom;
      until.hidden = !custom;
      if (custom && !since.value) return; // wait for a start
      loadTab();
    });
    form.addEventListener("submit", (ev) => { ev.preventDefault(); loadTab(); });
  }
  function iso(local) {
    // A datetime-local value is the browser's local time: send it with its offset.
    return local ? new Date(local).toISOString() : "";
  }
  function periodQuery(name) {
    const form = $(`.period-form[data-for="${name}"]`);
    const params = new URLSearchParams({ period: form.period.value });
    if (form.period.value === "custom") {
      params.set("since", iso(form.since.value));
      if (form.until.value) params.set("until", iso(form.until.value));
    }
    return params;
  }

  async function loadDelivery() {
    const params = periodQuery("delivery");
    params.set("media", $(".period-form[data-for=delivery] select[name=media]").value);
    const body = await api(`${base}/delivery?${params}`);
    $("#delivery-total").textContent = body.total;
    const results = $("#delivery-results");
    results.replaceChildren();
    for (const [result, n] of Object.entries(body.results)) {
      const chip = badge(`${result} ${n}`, "result-" + result);
      chip.dataset.result = result;
      results.append(chip, " ");
    }
    $("#delivery-network").textContent = body.network
      .map((n) => `${n.result} ${network(n) || "no cause known"}: ${n.n}`).join(" · ");
    $("#delivery-classes").textContent = Object.entries(body.classifications)
      .map(([c, n]) => `${c || "unclassified"} ${n}`).join(" · ");
    const tbody = $("#delivery tbody");
    tbody.replaceChildren();
    for (const a of body.attempts) {
      const row = el("tr");
      row.dataset.attempt = a.id;
      cell(row, when(a.placed_at), "c-time");
      cell(row, a.record_name, "c-name");
      cell(row, a.phone, "c-phone");
      cell(row, a.media);
      cell(row, "").appendChild(badge(a.result || a.state, a.result ? "result-" + a.result : "phase"));
      cell(row, network(a), "c-network");
      cell(row, a.classification);
      cell(row, a.agent, "c-agent");
      cell(row, talk(a), "num c-talk");
      const rec = cell(row, "");
      if (a.recording) rec.appendChild(recordingLink(a.id));
      tbody.appendChild(row);
    }
    root.dataset.deliveryTotal = body.total;
  }

  async function loadTransfers() {
    // The transfers API takes since/until: named periods are worked out here, with the
    // call centre's midnight from the server (day_start).
    const params = periodQuery("transfers");
    const now = Date.now() / 1000;
    const period = params.get("period");
    const q = new URLSearchParams();
    if (period === "custom") {
      q.set("since", params.get("since"));
      if (params.get("until")) q.set("until", params.get("until"));
    } else {
      q.set("since", String({ today: dayStart, "24h": now - 86400, "7d": now - 7 * 86400 }[period]));
    }
    const body = await api(`${base}/transfers?${q}`);
    $("#transfers-total").textContent = body.transfers.length;
    const s = body.summary;
    $("#transfers-summary").textContent =
      `${s.transfers_today} today · ${s.transfers_last_15_min} in the last 15 min` +
      (s.last_transfer_at ? ` · last at ${when(s.last_transfer_at)}` : "");
    const tbody = $("#transfers tbody");
    tbody.replaceChildren();
    for (const t of body.transfers) {
      const row = el("tr");
      row.dataset.transfer = t.id;
      cell(row, when(t.at), "c-time");
      cell(row, t.kind);
      cell(row, t.phone, "c-phone");
      cell(row, t.transferred_by, "c-agent");
      cell(row, t.target);
      const rec = cell(row, "");
      if (t.recording) rec.appendChild(recordingLink(t.attempt_id));
      tbody.appendChild(row);
    }
  }

  const BANDS = {
    completed: "Completed", ready_now: "Ready now", due_0_15: "Due in 0–15 min",
    due_15_30: "Due in 15–30 min", due_30_plus: "Due in 30+ min", in_progress: "On a call",
    list_disabled: "Held (list disabled)",
  };
  async function loadRecords() {
    const body = await api(`${base}/record-status?${periodQuery("records")}`);
    $("#loaded-total").textContent = body.loaded_total;
    const tbody = $("#loaded tbody");
    tbody.replaceChildren();
    for (const l of body.loaded) {
      const row = el("tr");
      row.dataset.list = text(l.list_id);
      cell(row, l.list_name || "—", "c-name");
      cell(row, l.source + (l.import_id ? ` · import #${l.import_id}` : ""));
      cell(row, "").appendChild(badge(l.enabled ? "enabled" : "disabled", l.enabled ? "status-active" : "status-paused"));
      cell(row, l.n, "num");
      cell(row, when(l.first_at), "c-time");
      cell(row, when(l.last_at), "c-time");
      tbody.appendChild(row);
    }
    const inv = body.inventory;
    $("#inventory-total").textContent = inv.total;
    const bar = $("#inventory-bar");
    const legend = $("#inventory-bands");
    bar.replaceChildren();
    legend.replaceChildren();
    for (const [band, label] of Object.entries(BANDS)) {
      const n = inv.bands[band] || 0;
      const part = el("span", `band band-${band}`);
      part.dataset.band = band;
      part.dataset.count = n;
      part.style.width = inv.total ? `${(100 * n) / inv.total}%` : "0";
      part.title = `${label}: ${n}`;
      bar.appendChild(part);
      const key = el("li", "key");
      key.dataset.band = band;
      key.append(el("i", `band-${band}`), `${label} `, el("b", "", n));
      legend.appendChild(key);
    }
  }

  // -- loading, refreshing, the websocket ---------------------------------------------------
  function guarded(fn, errorNode) {
    return async () => {
      try {
        await fn();
        showError(errorNode, null);
      } catch (error) {
        if (errorNode) showError(errorNode, error);
        else console.warn(error);
      }
    };
  }
  const LOADERS = { pie: loadPie, realtime: loadRealtime, why: loadWhy, tab: loadTab };
  // Many events arrive together (a call ends: attempt, counts, agent), and a busy
  // campaign sends them all the time: each part is read at most once per its gap (ms).
  // The pie and the tabs read many records; the metrics are cheap and should be fresh.
  // Delivery results and record status count a whole period's attempts or records:
  // every 10 s is live enough for them.
  const GAP = { realtime: 250, why: 1000, pie: 1500, tab: 1500 };
  const gap = (p) => (p === "tab" && (tab === "delivery" || tab === "records") ? 10000 : GAP[p]);
  const lastRun = {};
  const timers = {};
  function refresh(parts) {
    for (const p of parts) {
      if (timers[p]) continue;
      const wait = Math.max(150, (lastRun[p] || 0) + gap(p) - Date.now());
      timers[p] = setTimeout(async () => {
        timers[p] = null;
        lastRun[p] = Date.now();
        await (p === "tab" ? loadTab() : guarded(LOADERS[p])());
        root.dataset.refreshed = String(Number(root.dataset.refreshed || 0) + 1);
      }, wait);
    }
  }

  function onMessage(m) {
    const cid = m.campaign ? m.campaign.id : m.campaign_id;
    if (m.type === "campaign" && cid === campaignId) {
      setStatus(m.campaign.status);
      setAlert(m.campaign.alert);
      refresh(["pie", "why", "realtime", "tab"]);
    } else if ((m.type === "call" || m.type === "call_cancelled") && (cid === campaignId || cid === undefined)) {
      refresh(["realtime"]);
    } else if (m.type === "attempt_ended" && cid === campaignId) {
      refresh(["pie", "realtime", "why", "tab"]);
    } else if (m.type === "transfer" && cid === campaignId) {
      if (tab === "transfers") refresh(["tab"]);
    } else if ((m.type === "agent" || m.type === "agent_left") && m.queue === queue) {
      refresh(["realtime", "why"]);
    } else if (m.type === "pbx") {
      refresh(["why", "realtime"]);
    }
  }

  Promise.all([guarded(loadPie)(), guarded(loadRealtime)(), guarded(loadWhy)(), loadTab()]).then(() => {
    root.dataset.ready = "yes";
  });
  window.pbxLive("/ws", onMessage, {
    // Whatever changed while the link was down.
    onOpen: () => refresh(["pie", "realtime", "why", "tab"]),
  });
})();

// Campaigns dashboard: one panel per campaign, kept current by push. The websocket says
// which campaign changed (and ticks every 30 s); the page then fetches those panels from
// /api/dashboard. With auto-refresh off, changes are counted but not applied until
// Force Refresh or until auto-refresh is on again.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const PAGE = 50;
  const MAX_PAGE = 500;
  const BANDS = [
    ["completed", "Completed"],
    ["ready_now", "Ready now"],
    ["due_0_15", "Due in 0–15 min"],
    ["due_15_30", "Due in 15–30 min"],
    ["due_30_plus", "Due in 30+ min"],
  ];
  const SVG = 'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" aria-hidden="true" focusable="false"';
  const HEADSET = `<svg ${SVG}><path fill="currentColor" d="M12 2a9 9 0 0 0-9 9v6a3 3 0 0 0 3 3h2v-8H5v-1a7 7 0 0 1 14 0v1h-3v8h3v1h-6v2h6a2 2 0 0 0 2-2v-10a9 9 0 0 0-9-9z"/></svg>`;
  const MINUS = `<svg ${SVG}><rect fill="currentColor" x="5" y="10.5" width="14" height="3" rx="1.5"/></svg>`;
  const PAUSE = `<svg ${SVG}><rect fill="currentColor" x="6" y="5" width="4" height="14" rx="1"/><rect fill="currentColor" x="14" y="5" width="4" height="14" rx="1"/></svg>`;

  const panels = new Map(); // id -> panel data, in the order shown
  let total = 0;
  let maySteer = false;
  let auto = true;
  let pending = 0; // changes pushed while auto-refresh was off
  const dirty = new Set();
  let structural = false; // a campaign not shown changed: the list itself may differ
  let flushTimer = null;

  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const clock = (ts) => new Date(ts * 1000).toLocaleTimeString([], { hour12: false, hour: "2-digit", minute: "2-digit" });
  const when = (ts) => new Date(ts * 1000).toLocaleString([], { hour12: false, dateStyle: "medium", timeStyle: "short" });

  const el = window.pbxEl;

  function icon(cls, svg, label) {
    const span = el("span", "icon " + cls);
    span.setAttribute("role", "img");
    span.setAttribute("aria-label", label);
    span.title = label;
    span.innerHTML = svg; // a constant of this file, never data
    return span;
  }

  function transferIcon(t) {
    if (t.state === "recent") {
      return icon("icon-transfer-recent", HEADSET,
        `${plural(t.transfers_last_15_min, "transfer", "transfers")} in the last 15 minutes (last at ${clock(t.last_transfer_at)})`);
    }
    if (t.state === "today") {
      return icon("icon-transfer-today", HEADSET,
        `No transfer in the last 15 minutes; ${plural(t.transfers_today, "transfer", "transfers")} today (last at ${clock(t.last_transfer_at)})`);
    }
    return icon("icon-transfer-none", MINUS, "No transfers today");
  }

  function bar(c) {
    const wrap = el("div", "ibar");
    const parts = BANDS.map(([key, label]) => `${label}: ${c.bands[key]}`);
    wrap.setAttribute("role", "img");
    wrap.setAttribute("aria-label", `${plural(c.records, "record", "records")} loaded. ${parts.join(", ")}`);
    for (const [key, label] of BANDS) {
      const n = c.bands[key];
      const band = el("span", "band band-" + key);
      band.dataset.band = key;
      band.dataset.count = n;
      band.title = `${label}: ${plural(n, "record", "records")}`;
      band.style.width = c.records ? `${(100 * n) / c.records}%` : "0%";
      wrap.appendChild(band);
    }
    return wrap;
  }

  function link(href, text, cls) {
    const a = el("a", cls || "action", text);
    a.href = href;
    return a;
  }

  function button(text, cls, onClick) {
    const b = el("button", cls, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function render(c) {
    const card = el("article", "cpanel status-edge-" + c.status);
    card.dataset.campaign = c.id;
    card.dataset.status = c.status;
    card.dataset.suspended = String(c.suspended);
    card.dataset.transfers = c.transfers.state;
    card.setAttribute("aria-label", c.name);

    const head = el("header", "cpanel-head");
    const name = link(`/campaigns/${c.id}`, c.name, "cpanel-name");
    name.title = `Details of ${c.name}`;
    const icons = el("span", "icons");
    icons.appendChild(transferIcon(c.transfers));
    if (c.suspended) {
      const until = c.resume_at ? `until ${when(c.resume_at)}` : "until resumed by hand";
      icons.appendChild(icon("icon-suspended", PAUSE, `Suspended ${until}: nothing is sent`));
    }
    const status = el("span", "badge status status-" + c.status, c.status.charAt(0).toUpperCase() + c.status.slice(1));
    head.append(name, icons, status);

    const meta = el("p", "cpanel-meta");
    const records = plural(c.records, "record", "records") + (c.live ? " (live feed)" : "");
    meta.append(
      el("b", "m-records", records), " · ",
      el("span", "m-progress", `${c.progress_pct}% done`), " · ",
      el("span", "m-waiting", `${c.waiting} waiting`), " · ",
      el("span", "m-agents", plural(c.agents_logged_in, "agent", "agents")),
    );
    if (c.in_progress) meta.append(" · ", el("b", "m-on-call", `${c.in_progress} on a call`));
    if (c.queue) meta.append(" · ", el("span", "m-queue", c.queue));

    const actions = el("div", "cpanel-actions");
    // Steering (and the pages that steer) only for those who may: the server says so.
    if (maySteer) {
      if (c.status === "active") actions.appendChild(button("Suspend", "a-suspend", () => openSuspend(c)));
      if (c.status === "paused") actions.appendChild(button("Resume", "a-resume", () => resume(c)));
      if (c.waiting > 0 && c.status !== "stopped" && c.status !== "completed") {
        actions.appendChild(button("Cancel records", "a-cancel", () => openCancel(c)));
      }
    }
    actions.append(link(`/campaigns/${c.id}`, "Details", "action a-details"));
    // A stopped campaign is over for good: no edit, no records. A completed one may be
    // edited, and records imported into it reopen it (Paused).
    if (maySteer && c.status !== "stopped") {
      actions.append(
        link(`/campaigns/${c.id}/edit`, "Edit", "action a-edit"),
        link(`/campaigns/${c.id}/import`, "Import", "action a-import"),
      );
    }
    card.append(head);
    if (c.alert) {
      // Why the dialer paused it by itself; gone once it is played again.
      const banner = el("p", "alert-banner cpanel-alert", c.alert.text);
      banner.setAttribute("role", "alert");
      banner.title = `Since ${when(c.alert.at)}`;
      card.append(banner);
    }
    card.append(bar(c), meta, actions);
    return card;
  }

  function draw() {
    const box = $("#dash-panels");
    box.replaceChildren(...[...panels.values()].map(render));
    $("#dash-empty").hidden = panels.size > 0;
    $("#dash-count").textContent = panels.size ? `Showing ${panels.size} of ${total}` : "";
    $("#dash-more").hidden = panels.size >= total;
  }

  function replacePanel(c, at) {
    const known = panels.get(c.id);
    if (known && known._at > at) return;
    c._at = at;
    panels.set(c.id, c);
    const old = $(`#dash-panels [data-campaign="${c.id}"]`);
    if (old) old.replaceWith(render(c));
  }

  function applied(at) {
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    $("#dash-updated").textContent = `Updated ${new Date(at * 1000).toLocaleTimeString([], { hour12: false })}`;
  }

  function showError(err) {
    const box = $("#dash-error");
    box.textContent = err ? String(err.message || err) : "";
    box.hidden = !err;
  }

  async function fetchPage(offset, limit) {
    return window.pbxApi("GET", `/api/dashboard?offset=${offset}&limit=${limit}`);
  }

  // Everything shown (at least one page), fetched again from the top.
  async function refreshAll() {
    const want = Math.max(PAGE, panels.size);
    const fresh = [];
    let at = 0;
    // This fetch covers every change announced so far; those announced while it runs
    // stay marked for the next one.
    dirty.clear();
    structural = false;
    pending = 0;
    showPending();
    try {
      for (let offset = 0; offset < want; offset += MAX_PAGE) {
        const page = await fetchPage(offset, Math.min(MAX_PAGE, want - offset));
        total = page.total;
        at = page.at;
        fresh.push(...page.campaigns);
        if (page.campaigns.length === 0) break;
      }
    } catch (err) {
      showError(err);
      return;
    }
    showError(null);
    const old = new Map(panels);
    panels.clear();
    for (const c of fresh) {
      // Answers can overtake one another: never go back to an older state of a panel.
      const known = old.get(c.id);
      panels.set(c.id, known && known._at > at ? known : { ...c, _at: at });
    }
    draw();
    applied(at);
    if (dirty.size || structural) schedule();
  }

  async function flush() {
    flushTimer = null;
    if (!auto) return;
    if (structural) return refreshAll();
    const ids = [...dirty].filter((id) => panels.has(id)).slice(0, MAX_PAGE);
    ids.forEach((id) => dirty.delete(id));
    if (!ids.length) return;
    try {
      const page = await window.pbxApi("GET", `/api/dashboard?ids=${ids.join(",")}&limit=${MAX_PAGE}`);
      page.campaigns.forEach((c) => replacePanel(c, page.at));
      applied(page.at);
      showError(null);
    } catch (err) {
      showError(err);
    }
    if (dirty.size) schedule();
  }

  function schedule() {
    // Changes that come together (a burst of ended calls) cost one fetch.
    if (flushTimer === null) flushTimer = setTimeout(flush, 300);
  }

  function showPending() {
    const note = $("#dash-pending");
    note.hidden = auto || pending === 0;
    note.textContent = `${plural(pending, "update", "updates")} waiting`;
  }

  function changed(m) {
    const id = Number(m.campaign_id);
    const shown = panels.has(id);
    // A campaign not shown matters only when it is new and everything is loaded (it
    // then belongs at the end); otherwise Load More brings it in due course.
    const newcomer = !shown && m.cause === "campaign" && panels.size >= total;
    if (!shown && !newcomer) return;
    if (!auto) {
      pending += 1;
      showPending();
      return;
    }
    if (shown) dirty.add(id);
    else structural = true;
    schedule();
  }

  function setAuto(on) {
    auto = on;
    const b = $("#dash-auto");
    b.textContent = on ? "Disable Auto-Refresh" : "Enable Auto-Refresh";
    b.setAttribute("aria-pressed", String(on));
    document.body.dataset.auto = on ? "on" : "off";
    showPending();
    if (on) refreshAll();
  }

  // -- actions -------------------------------------------------------------------

  async function act(c, path, body) {
    let failure = null;
    try {
      await window.pbxApi("POST", `/api/campaigns/${c.id}/${path}`, body);
    } catch (err) {
      failure = err;
    }
    await refreshOne(c.id);
    showError(failure); // after the refresh, which would clear it
  }

  // What a supervisor just did shows at once, whether auto-refresh is on or not.
  async function refreshOne(id) {
    dirty.add(id);
    const wasAuto = auto;
    auto = true;
    await flush();
    auto = wasAuto;
  }

  const resume = (c) => act(c, "resume");

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach((e) => { e.textContent = ""; });
  }

  function showErrors(form, err) {
    const fields = (err.data && err.data.fields) || {};
    let placed = false;
    for (const [key, reason] of Object.entries(fields)) {
      const slot = form.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
      if (slot) { slot.textContent = reason; placed = true; }
    }
    const general = form.querySelector('[data-error-for=""]');
    general.textContent = placed ? (err.data && err.data.error) || "" : err.message;
  }

  let target = null;
  function openSuspend(c) {
    target = c;
    const form = $("#suspend-form");
    form.reset();
    clearErrors(form);
    $("#suspend-name").textContent = c.name;
    $("#suspend-dialog").showModal();
  }

  function iso(value) {
    // A datetime-local value is the browser's local time; the API wants an offset.
    return value ? new Date(value).toISOString() : undefined;
  }

  $("#suspend-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    clearErrors(form);
    const body = {};
    const resumeAt = iso(form.resume_at.value);
    const remindTo = form.reminder_to.value.trim();
    const remindAt = iso(form.reminder_at.value);
    if (resumeAt) body.resume_at = resumeAt;
    if (remindTo) body.reminder_to = remindTo;
    if (remindAt) body.reminder_at = remindAt;
    try {
      await window.pbxApi("POST", `/api/campaigns/${target.id}/suspend`, body);
    } catch (err) {
      showErrors(form, err);
      return;
    }
    $("#suspend-dialog").close();
    await refreshOne(target.id);
  });

  function openCancel(c) {
    target = c;
    clearErrors($("#cancel-form"));
    $("#cancel-name").textContent = c.name;
    $("#cancel-count").textContent = String(c.waiting);
    $("#cancel-dialog").showModal();
  }

  $("#cancel-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    try {
      await window.pbxApi("POST", `/api/campaigns/${target.id}/records/cancel`, { all: true });
    } catch (err) {
      showErrors(form, err);
      return;
    }
    $("#cancel-dialog").close();
    await refreshOne(target.id);
  });

  document.querySelectorAll("dialog [data-close]").forEach((b) => {
    b.addEventListener("click", () => b.closest("dialog").close());
  });

  // -- page controls ---------------------------------------------------------------

  $("#dash-more").addEventListener("click", async () => {
    const more = $("#dash-more");
    more.disabled = true;
    try {
      const page = await fetchPage(panels.size, PAGE);
      total = page.total;
      for (const c of page.campaigns) panels.set(c.id, { ...c, _at: page.at });
      draw();
      showError(null);
    } catch (err) {
      showError(err);
    }
    more.disabled = false;
  });
  $("#dash-force").addEventListener("click", () => refreshAll());
  $("#dash-auto").addEventListener("click", () => setAuto(!auto));

  function onMessage(m) {
    if (m.type === "changed") changed(m);
    else if (m.type === "tick" && auto) refreshAll();
    else if (m.type === "hello" && auto && document.body.dataset.refreshes) refreshAll(); // reconnected
  }


  const first = JSON.parse($("#dash-data").textContent);
  total = first.total;
  maySteer = first.may_steer;
  for (const c of first.campaigns) panels.set(c.id, { ...c, _at: first.at });
  draw();
  applied(first.at);
  document.body.dataset.auto = "on";
  window.pbxLive("/ws/dashboard", onMessage);
})();

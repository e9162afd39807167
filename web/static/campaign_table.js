// Campaign table: sorted by the server (Created on, Name, Status; both directions),
// 50 rows at a time with Load More; Play/Pause/Stop where the status allows them (Stop,
// which is for good, after a confirmation), and Clone. Rows follow changes pushed over
// the dashboard websocket.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const PAGE = 50;
  const MAX_PAGE = 500;
  const LABEL = { play: "Play", pause: "Pause", stop: "Stop" };
  const rows = new Map();
  let total = 0;
  let sort = "created_at";
  let order = "desc";
  let maySteer = false;
  const dirty = new Set();
  let timer = null;

  const el = window.pbxEl;

  function cell(tr, cls, content) {
    const td = el("td", cls);
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = content;
    tr.appendChild(td);
    return td;
  }

  function day(ts) {
    return new Date(ts * 1000).toLocaleString([], { hour12: false, dateStyle: "medium", timeStyle: "short" });
  }

  function button(text, cls, onClick) {
    const b = el("button", cls, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function row(c) {
    const tr = el("tr");
    tr.dataset.campaign = c.id;
    tr.dataset.status = c.status;
    cell(tr, "c-created", day(c.created_at)).dataset.ts = c.created_at;
    cell(tr, "num c-id", String(c.id));
    const name = el("a", "", c.name);
    // A stopped campaign cannot be edited: its name opens its details.
    const edits = maySteer && c.status !== "stopped";
    name.href = edits ? `/campaigns/${c.id}/edit` : `/campaigns/${c.id}`;
    name.title = edits ? `Edit ${c.name}` : `Details of ${c.name}`;
    cell(tr, "c-name", name);
    cell(tr, "num c-contacts", c.live ? "∞" : String(c.records)).title = c.live ? "Live campaign fed by a CRM" : `${c.records} records`;
    cell(tr, "num c-agents", String(c.agents_logged_in));
    const bar = el("span", "bar");
    const fill = el("span");
    fill.style.width = c.progress_pct + "%";
    bar.appendChild(fill);
    const progress = cell(tr, "c-progress", bar);
    progress.append(el("span", "pct", c.progress_pct + "%"));
    const label = c.status.charAt(0).toUpperCase() + c.status.slice(1);
    cell(tr, "c-status", el("span", "badge status status-" + c.status, label));
    const controls = el("div", "c-controls");
    for (const control of c.controls) {
      const act = control === "stop" ? () => askStop(c) : () => steer(c, control);
      controls.appendChild(button(LABEL[control], "ctl-" + control, act));
    }
    cell(tr, "", controls);
    const clone = el("span", "c-clone");
    if (maySteer) clone.appendChild(button("Clone", "ctl-clone", () => cloneOf(c)));
    cell(tr, "", clone);
    return tr;
  }

  function draw() {
    $("#campaign-table tbody").replaceChildren(...[...rows.values()].map(row));
    $("#table-total").textContent = String(total);
    $("#table-empty").hidden = rows.size > 0;
    $("#table-count").textContent = rows.size ? `Showing ${rows.size} of ${total}` : "";
    $("#table-more").hidden = rows.size >= total;
    document.querySelectorAll("#campaign-table th[data-sort]").forEach((th) => {
      th.setAttribute("aria-sort", th.dataset.sort === sort ? (order === "asc" ? "ascending" : "descending") : "none");
    });
  }

  function error(err) {
    $("#table-error").textContent = err ? String(err.message || err) : "";
  }

  function take(page) {
    total = page.total;
    maySteer = page.may_steer;
    for (const c of page.campaigns) rows.set(c.id, c);
    document.body.dataset.loads = String(Number(document.body.dataset.loads || 0) + 1);
  }

  async function load(offset, limit) {
    return window.pbxApi("GET", `/api/dashboard?offset=${offset}&limit=${limit}&sort=${sort}&order=${order}`);
  }

  async function reload() {
    const want = Math.min(MAX_PAGE, Math.max(PAGE, rows.size));
    try {
      const page = await load(0, want);
      rows.clear();
      take(page);
      draw();
      error(null);
    } catch (err) {
      error(err);
    }
  }

  async function refresh(ids) {
    try {
      const page = await window.pbxApi("GET", `/api/dashboard?ids=${ids.join(",")}&limit=${MAX_PAGE}`);
      for (const c of page.campaigns) {
        rows.set(c.id, c);
        const old = $(`#campaign-table tbody tr[data-campaign="${c.id}"]`);
        if (old) old.replaceWith(row(c));
      }
    } catch (err) {
      error(err);
    }
  }

  async function steer(c, control) {
    error(null);
    try {
      await window.pbxApi("POST", `/api/campaigns/${c.id}/${control}`);
    } catch (err) {
      error(err);
    }
    await refresh([c.id]);
  }

  let stopping = null;
  function askStop(c) {
    stopping = c;
    $("#stop-name").textContent = c.name;
    $("#stop-error").textContent = "";
    $("#stop-dialog").showModal();
  }

  $("#stop-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const c = stopping;
    try {
      await window.pbxApi("POST", `/api/campaigns/${c.id}/stop`);
    } catch (err) {
      $("#stop-error").textContent = String(err.message || err);
      return;
    }
    $("#stop-dialog").close();
    error(null);
    await refresh([c.id]);
  });

  document.querySelectorAll("#stop-dialog [data-close]").forEach((b) => {
    b.addEventListener("click", () => b.closest("dialog").close());
  });

  async function cloneOf(c) {
    try {
      const copy = await window.pbxApi("POST", `/api/campaigns/${c.id}/clone`);
      error(null);
      document.body.dataset.cloned = String(copy.id);
    } catch (err) {
      error(err);
      return;
    }
    await reload();
  }

  document.querySelectorAll("#campaign-table th[data-sort] .sort").forEach((b) => {
    b.addEventListener("click", () => {
      const key = b.closest("th").dataset.sort;
      // A new column starts ascending; the same column flips.
      order = key === sort && order === "asc" ? "desc" : "asc";
      sort = key;
      rows.clear();
      reload();
    });
  });

  $("#table-more").addEventListener("click", async () => {
    const more = $("#table-more");
    more.disabled = true;
    try {
      take(await load(rows.size, PAGE));
      draw();
      error(null);
    } catch (err) {
      error(err);
    }
    more.disabled = false;
  });

  function flush() {
    timer = null;
    const ids = [...dirty].slice(0, MAX_PAGE);
    dirty.clear();
    if (ids.length) refresh(ids);
  }

  function onMessage(m) {
    if (m.type === "changed" && rows.has(Number(m.campaign_id))) {
      dirty.add(Number(m.campaign_id));
      if (timer === null) timer = setTimeout(flush, 300);
    } else if (m.type === "changed" && m.cause === "campaign" && rows.size >= total) {
      // A new campaign, with every row loaded: it takes its place in the sort order.
      if (timer === null) timer = setTimeout(() => { timer = null; reload(); }, 300);
    } else if (m.type === "tick" && rows.size) {
      refresh([...rows.keys()].slice(0, MAX_PAGE));
    }
  }


  take(JSON.parse($("#table-data").textContent));
  draw();
  window.pbxLive("/ws/dashboard", onMessage);
})();

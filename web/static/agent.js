// The agent desk: the agent's reservation or call, the campaign's and the record's notes,
// accept / skip with the auto-dial countdown, classification and callbacks. The desk is
// read from the API; the page's websocket says when to read it again.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const root = $("#desk");
  const agent = root.dataset.agent;
  const base = `/api/agents/${encodeURIComponent(root.dataset.agentUrl)}`;
  const STATE_WORDS = {
    away: "not logged in", idle: "ready", reserved: "preview", dialing: "dialing",
    talking: "on a call", wrapup: "wrap-up",
  };
  let desk = null;
  let clockOffset = 0; // server time minus this browser's time, in seconds
  let reading = null;
  let again = false;

  function say(message) {
    const box = $("#desk-message");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function serverNow() {
    return Date.now() / 1000 + clockOffset;
  }

  async function read() {
    // One read at a time; a change pushed meanwhile asks for one more.
    if (reading) { again = true; return reading; }
    reading = (async () => {
      do {
        again = false;
        try {
          const found = await window.pbxApi("GET", `${base}/desk`);
          clockOffset = found.now - Date.now() / 1000;
          show(found);
        } catch (err) {
          say(err.message);
        }
      } while (again);
    })();
    try { await reading; } finally { reading = null; }
  }

  async function act(action) {
    say("");
    for (const b of root.querySelectorAll("button")) b.disabled = true;
    try {
      show(await window.pbxApi("POST", `${base}/${action}`));
    } catch (err) {
      say(err.message);
      await read();
    } finally {
      for (const b of root.querySelectorAll("button")) b.disabled = false;
    }
  }

  function show(found) {
    desk = found;
    root.dataset.state = found.state;
    const state = $("#desk-state");
    state.textContent = STATE_WORDS[found.state] || found.state;
    state.className = `badge state-${found.state}`;
    $("#desk-name").textContent = found.name || agent;
    const paused = found.paused ? " · paused in the queue" : "";
    $("#desk-campaigns").textContent = found.campaigns.length
      ? "In " + found.campaigns.map((c) => `${c.name} (${c.dial_mode})`).join(", ") + paused
      : found.logged_in
        ? "No active campaign uses your queue right now."
        : "Not logged in to the queue of any campaign.";
    const reserved = found.state === "reserved";
    const preview = found.campaigns.some((c) => c.dial_mode === "preview");
    $("#desk-next").hidden = reserved || !preview || ["dialing", "talking", "wrapup"].includes(found.state);
    $("#desk-accept").hidden = !reserved;
    $("#desk-skip").hidden = !reserved;
    showCustomer(found);
    showWrapup(found);
    tick();
  }

  function showCustomer(found) {
    const record = found.record;
    const campaign = found.campaign;
    $("#desk-empty").hidden = Boolean(record);
    $("#desk-customer").hidden = !record;
    const notes = $("#desk-campaign-notes");
    notes.textContent = campaign && campaign.agent_notes ? campaign.agent_notes : "—";
    notes.classList.toggle("empty", !(campaign && campaign.agent_notes));
    if (!record) return;
    $("#desk-customer-name").textContent = record.name || "(no name)";
    $("#desk-phone").textContent = record.phone;
    const phase = $("#desk-phase");
    const call = found.call;
    const phaseName = found.state === "reserved" ? "preview" : call ? call.phase : "";
    const result = call && call.phase === "ended" && call.result ? call.result : "";
    phase.textContent = result || phaseName;
    phase.className = result ? `badge result-${result}` : `badge phase phase-${phaseName}`;
    phase.hidden = !phaseName;
    $("#desk-campaign-name").textContent = campaign ? campaign.name : "";
    $("#desk-attempts").textContent = String(record.attempts + (found.state === "reserved" ? 1 : 0));
    $("#desk-callback").hidden = record.callback_agent !== agent;
    $("#desk-record-notes").textContent = record.notes || "—";
    const rows = $("#desk-fields");
    rows.replaceChildren();
    const fields = Object.entries(record.fields || {});
    if (record.external_id) fields.unshift(["external id", record.external_id]);
    if (record.timezone) fields.push(["time zone", record.timezone]);
    for (const [key, value] of fields) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      const td = document.createElement("td");
      th.textContent = key;
      td.textContent = value === null || value === undefined ? "" : String(value);
      tr.append(th, td);
      rows.appendChild(tr);
    }
  }

  function showWrapup(found) {
    const call = found.call;
    const open = Boolean(call) && (found.state === "talking" || found.state === "wrapup")
      && !call.classified && found.campaign;
    $("#desk-wrapup").hidden = !open;
    if (!open) return;
    const codes = $("#desk-codes");
    if (codes.dataset.attempt === String(call.attempt_id)) return;
    codes.dataset.attempt = String(call.attempt_id);
    codes.replaceChildren();
    $("#desk-callback-form").hidden = true;
    for (const item of found.campaign.classifications) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = item.label;
      button.dataset.code = item.code;
      button.addEventListener("click", () => {
        if (item.outcome === "callback") return openCallback(item.code);
        classify({ code: item.code });
      });
      codes.appendChild(button);
    }
  }

  function openCallback(code) {
    const form = $("#desk-callback-form");
    form.dataset.code = code;
    form.hidden = false;
    const at = $("#desk-callback-at");
    if (!at.value) {
      // Tomorrow at this time, in the browser's own zone, as datetime-local wants it.
      const d = new Date(Date.now() + 86400000);
      d.setSeconds(0, 0);
      at.value = new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    }
  }

  async function classify(body) {
    if (!desk || !desk.call) return;
    say("");
    try {
      // Who classified is the logged-in agent: the server knows, the body does not say.
      await window.pbxApi("POST", `/api/attempts/${desk.call.attempt_id}/classify`, body);
      $("#desk-codes").dataset.attempt = "";
    } catch (err) {
      say(err.message);
    }
    await read();
  }

  function tick() {
    const box = $("#desk-countdown");
    const res = desk && desk.reservation;
    if (!res || res.autodial_at === null || res.autodial_at === undefined) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    $("#desk-countdown-s").textContent = String(Math.max(0, Math.ceil(res.autodial_at - serverNow())));
  }

  function onMessage(m) {
    const current = desk && desk.call ? desk.call.attempt_id : null;
    if (
      (m.type === "agent_desk" && m.interface === agent)
      || ((m.type === "agent" || m.type === "agent_left") && m.interface === agent)
      || (m.attempt_id !== undefined && m.attempt_id === current)
      || (m.type === "call" && m.agent && desk && m.agent === desk.name)
    ) {
      read();
    }
  }

  $("#desk-next").addEventListener("click", () => act("next"));
  $("#desk-accept").addEventListener("click", () => act("accept"));
  $("#desk-skip").addEventListener("click", () => act("skip"));
  $("#desk-callback-save").addEventListener("click", () => {
    const form = $("#desk-callback-form");
    const value = $("#desk-callback-at").value;
    if (!value) { say("Choose when to call back."); return; }
    const who = document.querySelector('input[name="desk-callback-who"]:checked').value;
    classify({
      code: form.dataset.code,
      callback_at: new Date(value).toISOString(),
      callback_agent: who === "me" ? agent : null,
    });
  });
  setInterval(tick, 250);
  read();
  window.pbxLive("/ws", onMessage, { onOpen: read });
})();

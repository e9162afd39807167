// Upload a CSV through the API, then follow its progress pushed over the websocket.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const campaign = $(".import-panel").dataset.campaign;
  let importId = null;

  function show(imp) {
    if (importId === null || Number(imp.id) !== importId) return;
    $("#import-progress").hidden = false;
    const pct = imp.bytes_total ? Math.min(100, Math.floor((100 * imp.bytes_done) / imp.bytes_total)) : 0;
    const done = imp.state !== "running";
    $("#import-bar").style.width = (done && imp.state === "done" ? 100 : pct) + "%";
    $("#import-pct").textContent = done && imp.state === "done" ? 100 : pct;
    $("#import-state").textContent = imp.state + (imp.error ? ": " + imp.error : "");
    $("#import-rows").textContent = imp.rows_read;
    $("#import-accepted").textContent = imp.accepted;
    $("#import-rejected").textContent = imp.rejected;
    $("#import-duplicates").textContent = imp.duplicates;
    $("#import-filtered").textContent = imp.filtered;
    if (done && imp.rejected + imp.duplicates > 0) {
      const link = $("#import-rejects");
      link.href = `/api/imports/${importId}/rejects.csv`;
      link.hidden = false;
    }
    document.body.dataset.importState = imp.state;
  }

  function onMessage(m) {
    if (m.type === "import") show(m.import);
  }

  $("#import-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("#import-file").files[0];
    const error = $("#import-error");
    error.hidden = true;
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    $("#import-start").disabled = true;
    // A file upload is not JSON, so it cannot go through pbxApi: it sends the CSRF token itself.
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const res = await fetch(`/api/campaigns/${campaign}/imports?filename=${encodeURIComponent(file.name)}`, {
      method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRF-Token": csrf },
    });
    const body = await res.json();
    $("#import-start").disabled = false;
    if (!res.ok) {
      const fields = body.fields ? " (" + Object.entries(body.fields).map(([k, v]) => `${k}: ${v}`).join("; ") + ")" : "";
      error.textContent = body.error + fields;
      error.hidden = false;
      return;
    }
    importId = Number(body.id);
    // The first figures, then every change arrives over the websocket.
    const first = await fetch(`/api/imports/${importId}`);
    if (first.ok) show(await first.json());
  });
  window.pbxLive("/ws", onMessage);
})();

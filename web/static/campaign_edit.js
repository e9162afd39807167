// Campaign edit (and create) form. The API validates; its `fields` come back keyed by
// setting ("max_lines", "retry_rules.BUSY.delay_s", "classifications[2].code") and each
// is shown next to the input it names, or the nearest enclosing one.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const form = $("#campaign-form");
  const data = JSON.parse($("#edit-data").textContent);
  const campaignId = form.dataset.campaign;

  const el = window.pbxEl;

  // -- classifications ------------------------------------------------------------

  function classificationRow(item) {
    const tr = el("tr");
    const code = el("input", "k-code");
    code.value = item.code || "";
    code.setAttribute("aria-label", "Code");
    const label = el("input", "k-label");
    label.value = item.label || "";
    label.setAttribute("aria-label", "Label");
    const outcome = el("select", "k-outcome");
    outcome.setAttribute("aria-label", "Outcome");
    for (const o of data.outcomes) {
      const opt = el("option", "", o);
      opt.value = o;
      opt.selected = o === item.outcome;
      outcome.appendChild(opt);
    }
    const delay = el("input", "k-delay");
    delay.type = "number";
    delay.value = item.retry_delay_s ?? "";
    delay.setAttribute("aria-label", "Retry delay in seconds");
    const remove = el("button", "secondary k-remove", "Remove");
    remove.type = "button";
    remove.addEventListener("click", () => { tr.remove(); numberRows(); fillResultSelects(); });
    code.addEventListener("change", fillResultSelects);
    for (const [input, cls] of [[code, ""], [label, ""], [outcome, ""], [delay, ""]]) {
      const td = el("td", cls);
      td.appendChild(input);
      tr.appendChild(td);
    }
    const last = el("td");
    last.appendChild(remove);
    tr.appendChild(last);
    return tr;
  }

  // Error slots follow the rows' positions, as the API names them.
  function numberRows() {
    [...$("#classifications tbody").children].forEach((tr, i) => {
      tr.dataset.index = i;
      tr.querySelectorAll(".field-error").forEach((e) => e.remove());
      const cells = tr.children;
      const names = ["code", "label", "outcome", "retry_delay_s"];
      names.forEach((name, j) => {
        const slot = el("small", "field-error");
        slot.dataset.errorFor = `classifications[${i}].${name}`;
        cells[j].appendChild(slot);
      });
      const whole = el("small", "field-error");
      whole.dataset.errorFor = `classifications[${i}]`;
      cells[4].appendChild(whole);
    });
  }

  function fillResultSelects() {
    const codes = [...document.querySelectorAll("#classifications .k-code")].map((i) => i.value.trim()).filter(Boolean);
    document.querySelectorAll("select.rc").forEach((select) => {
      const current = select.value || select.dataset.value;
      select.replaceChildren();
      const none = el("option", "", "— none —");
      none.value = "";
      select.appendChild(none);
      for (const code of codes) {
        const opt = el("option", "", code);
        opt.value = code;
        opt.selected = code === current;
        select.appendChild(opt);
      }
    });
  }

  function setClassifications(items) {
    $("#classifications tbody").replaceChildren(...items.map(classificationRow));
    numberRows();
  }

  $("#add-classification").addEventListener("click", () => {
    $("#classifications tbody").appendChild(classificationRow({ outcome: "final" }));
    numberRows();
    fillResultSelects();
  });

  // -- reading the form ---------------------------------------------------------------

  function value(input) {
    const kind = input.dataset.kind;
    if (kind === "bool") return input.checked;
    const raw = input.value;
    if (kind.endsWith("?") && raw.trim() === "") return null;
    if (kind.startsWith("int") || kind === "number") {
      // Not a number stays text: the API names the field and says what it must be.
      return raw.trim() !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
    }
    return raw;
  }

  function settings() {
    const body = {};
    form.querySelectorAll("[name][data-kind]").forEach((input) => { body[input.name] = value(input); });
    const rules = {};
    document.querySelectorAll("#retry-rules tbody tr").forEach((tr) => {
      if (!tr.querySelector(".r-on").checked) return;
      const num = (sel) => {
        const raw = tr.querySelector(sel).value;
        return raw.trim() !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
      };
      rules[tr.dataset.result] = { delay_s: num(".r-delay"), max_attempts: num(".r-max") };
    });
    body.retry_rules = rules;
    body.number_caps = [...document.querySelectorAll("#number-caps .cap-on")]
      .filter((box) => box.checked)
      .map((box) => box.dataset.cap);
    body.next_number_on = [...document.querySelectorAll("#next-number-on .nn-on")]
      .filter((box) => box.checked)
      .map((box) => box.dataset.result);
    body.classifications = [...document.querySelectorAll("#classifications tbody tr")].map((tr) => {
      const item = {
        code: tr.querySelector(".k-code").value.trim(),
        label: tr.querySelector(".k-label").value.trim(),
        outcome: tr.querySelector(".k-outcome").value,
      };
      const delay = tr.querySelector(".k-delay").value.trim();
      if (delay !== "") item.retry_delay_s = Number.isNaN(Number(delay)) ? delay : Number(delay);
      return item;
    });
    const mapping = {};
    document.querySelectorAll("select.rc").forEach((s) => { if (s.value) mapping[s.dataset.result] = s.value; });
    body.result_classifications = mapping;
    return body;
  }

  // -- errors ---------------------------------------------------------------------------

  function clearErrors() {
    form.querySelectorAll("[data-error-for]").forEach((slot) => { slot.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
    $("#form-saved").textContent = "";
  }

  // The slot for a key, or for the nearest key it is part of ("a.b.c" -> "a.b" -> "a").
  function slotFor(key) {
    let k = key;
    while (k) {
      const slot = form.querySelector(`[data-error-for="${CSS.escape(k)}"]`);
      if (slot) return slot;
      const cut = Math.max(k.lastIndexOf("."), k.lastIndexOf("["));
      k = cut > 0 ? k.slice(0, cut) : "";
    }
    return null;
  }

  function showErrors(err) {
    const fields = (err.data && err.data.fields) || {};
    const general = [];
    for (const [key, reason] of Object.entries(fields)) {
      const slot = slotFor(key);
      if (!slot) { general.push(`${key}: ${reason}`); continue; }
      slot.textContent = slot.textContent ? `${slot.textContent}; ${reason}` : reason;
      const input = slot.parentElement.querySelector("input, select, textarea");
      if (input) input.setAttribute("aria-invalid", "true");
    }
    const message = err.data && err.data.error ? err.data.error : err.message;
    $("#form-error").textContent = general.length ? `${message}: ${general.join("; ")}` : message;
    const first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors();
    const save = $("#save");
    save.disabled = true;
    try {
      if (campaignId) {
        const saved = await window.pbxApi("PATCH", `/api/campaigns/${campaignId}`, settings());
        $("#form-saved").textContent = `Saved at ${new Date().toLocaleTimeString([], { hour12: false })}`;
        document.body.dataset.saved = String(saved.updated_at);
      } else {
        const created = await window.pbxApi("POST", "/api/campaigns", settings());
        location.assign(`/campaigns/${created.id}/edit?created=1`);
      }
    } catch (err) {
      showErrors(err);
    } finally {
      save.disabled = false;
    }
  });

  if (new URLSearchParams(location.search).get("created")) {
    $("#form-saved").textContent = "Campaign created";
  }
  setClassifications(data.settings.classifications || []);
  fillResultSelects();
  // No live data on this page: the header says so instead of "connecting…".
  $("#link-state").textContent = campaignId ? "editing" : "new";
  $("#link-state").className = "pill pill-on";
})();

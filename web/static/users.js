// The users page: the table of users and one form that creates a user or edits the one
// chosen (role, Campaigns profile, privilege, agent interface, password reset, disable).
// Every change goes through window.pbxApi (CSRF token, the server's error shown as is).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("users-data").textContent);
  const users = new Map(data.users.map((u) => [u.id, u]));
  const form = document.getElementById("user-form");
  const $ = (id) => document.getElementById(id);
  const errorBox = $("user-error");
  const saved = $("user-saved");
  let editing = null; // the id of the user being edited, or null for a new one

  const state = $("link-state");
  if (state) state.hidden = true; // nothing live on this page

  function picks() {
    return [...$("u-campaigns").querySelectorAll("input[type=checkbox]")];
  }

  function fill(user) {
    editing = user ? user.id : null;
    $("user-form-title").textContent = user ? `Edit ${user.username}` : "New user";
    $("user-save").textContent = user ? "Save changes" : "Create user";
    $("u-username").value = user ? user.username : "";
    $("u-username").disabled = Boolean(user);
    $("u-display").value = user ? user.display_name : "";
    $("u-role").value = user ? user.role : "supervisor";
    $("u-interface").value = user && user.agent_interface ? user.agent_interface : "";
    $("u-password").value = "";
    $("u-password-hint").textContent = user
      ? "Leave empty to keep it; a new one ends the user's sessions."
      : "At least 10 characters.";
    $("u-privilege").checked = user ? user.may_list_campaigns : true;
    $("u-disabled").checked = user ? user.disabled : false;
    const all = user ? user.all_campaigns : true;
    $("u-all").checked = all;
    $("u-listed").checked = !all;
    const ids = new Set(user ? user.campaign_ids : []);
    for (const box of picks()) box.checked = ids.has(Number(box.value));
    errorBox.textContent = "";
    saved.hidden = true;
  }

  function fields() {
    const body = {
      display_name: $("u-display").value.trim(),
      role: $("u-role").value,
      agent_interface: $("u-interface").value.trim() || null,
      may_list_campaigns: $("u-privilege").checked,
      disabled: $("u-disabled").checked,
      all_campaigns: $("u-all").checked,
      campaign_ids: picks().filter((b) => b.checked).map((b) => Number(b.value)),
    };
    if (editing === null) {
      body.username = $("u-username").value.trim();
      body.password = $("u-password").value;
    }
    return body;
  }

  function row(user) {
    const tr = document.createElement("tr");
    tr.dataset.user = user.id;
    tr.className = user.disabled ? "u-off" : "";
    const cells = [
      ["u-username", user.username],
      ["u-name", user.display_name],
      ["u-role", user.role],
      ["u-profile", user.all_campaigns ? "All campaigns" : `${user.campaign_ids.length} listed`],
      ["u-privilege", user.may_list_campaigns ? "Yes" : "No"],
      ["u-interface", user.agent_interface || ""],
      ["u-state", user.disabled ? "Disabled" : "Active"],
    ];
    for (const [cls, text] of cells) {
      const td = document.createElement("td");
      td.className = cls;
      td.textContent = text;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "u-edit";
    button.textContent = "Edit";
    td.appendChild(button);
    tr.appendChild(td);
    return tr;
  }

  function show(user) {
    users.set(user.id, user);
    const fresh = row(user);
    const old = document.querySelector(`#users tbody tr[data-user="${user.id}"]`);
    if (old) old.replaceWith(fresh);
    else document.querySelector("#users tbody").appendChild(fresh);
  }

  document.querySelector("#users tbody").addEventListener("click", (event) => {
    const button = event.target.closest(".u-edit");
    if (!button) return;
    fill(users.get(Number(button.closest("tr").dataset.user)));
    $("u-display").focus();
  });
  $("user-new").addEventListener("click", () => fill(null));
  $("user-cancel").addEventListener("click", () => fill(null));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.textContent = "";
    saved.hidden = true;
    try {
      let user;
      if (editing === null) {
        user = await window.pbxApi("POST", "/api/users", fields());
      } else {
        user = await window.pbxApi("PATCH", `/api/users/${editing}`, fields());
        const password = $("u-password").value;
        if (password) await window.pbxApi("POST", `/api/users/${editing}/password`, { password });
      }
      show(user);
      fill(user);
      saved.textContent = `Saved ${user.username}.`;
      saved.hidden = false;
    } catch (error) {
      errorBox.textContent = error.message;
    }
  });

  fill(null);
})();

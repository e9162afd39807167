// One way for every page to call the JSON API: same-origin cookies, the page's CSRF
// token on every change, and the server's JSON error (with the fields it names) thrown
// as an Error whose message a page can show as it is.
(function () {
  "use strict";
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";

  async function api(method, url, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const fields = data && data.fields ? Object.entries(data.fields).map(([k, v]) => `${k}: ${v}`) : [];
      const error = new Error([data && data.error ? data.error : response.statusText, ...fields].join("; "));
      error.status = response.status;
      error.data = data;
      throw error;
    }
    return data;
  }

  window.pbxApi = api;
})();

// What every page's header does by itself: the wall clock, 24 h, one format everywhere.
(function () {
  "use strict";
  const clock = document.getElementById("clock");
  if (!clock) return;
  const pad = (n) => String(n).padStart(2, "0");
  function tick() {
    const d = new Date();
    clock.textContent = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    clock.dateTime = d.toISOString();
  }
  tick();
  setInterval(tick, 1000);
})();

// One live link per page: the page's websocket, opened again after a drop, and the header's
// #link-state pill saying whether pushed changes are arriving. Pages pass the path ("/ws",
// "/ws/dashboard"), a handler for each parsed message and, optionally, onOpen (to re-read what
// changed while the link was down) and the reconnect delays (ms): the wait starts at `delay`,
// doubles after each failed try up to `maxDelay`, and is back at `delay` once connected.
window.pbxLive = function (path, onMessage, options) {
  "use strict";
  const { onOpen = null, delay = 1000, maxDelay = 1000 } = options || {};
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const state = document.getElementById("link-state");
  let wait = delay;
  function connect() {
    const ws = new WebSocket(`${proto}//${location.host}${path}`);
    ws.onopen = () => {
      wait = delay;
      state.textContent = "live";
      state.className = "pill pill-on";
      if (onOpen) onOpen();
    };
    ws.onclose = () => {
      state.textContent = "reconnecting…";
      state.className = "pill pill-off";
      setTimeout(connect, wait);
      wait = Math.min(wait * 2, maxDelay);
    };
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
  }
  connect();
};

// A new element with its class and text (given as text, never as HTML).
window.pbxEl = function (tag, cls, text) {
  "use strict";
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};

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

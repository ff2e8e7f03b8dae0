// Live clocks: each `.countdown[data-due]` (rendered by `pages.countdown`) shows the time left to its due
// time, 4:12, 1:02:03 or 3天 09:29:07, and once it has passed its `data-late` word with how long. The
// server computed the due times (the 110 targets, the rule pack's deadlines); this only ticks.
(function () {
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds, day) {
    var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (d > 0) { return d + day + " " + pad(h) + ":" + pad(m) + ":" + pad(s); }
    return h > 0 ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - now) / 1000);
      var day = el.dataset.day || "d";
      el.textContent = left >= 0 ? clock(left, day) : (el.dataset.late || "-") + " " + clock(-left, day);
      el.classList.toggle("late", left < 0);
    });
  }
  tick();
  setInterval(tick, 1000);
})();

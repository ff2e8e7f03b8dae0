// The supervision pages' live deadlines: each `.countdown[data-due]` shows the time left to its due time
// as days and h:mm:ss, and once it has passed, how long overdue (with the page's `data-overdue` word).
// The server computed the due times from the rule pack; this only ticks.
(function () {
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function span(seconds) {
    var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (d > 0 ? d + "d " : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - now) / 1000);
      el.textContent = left >= 0 ? span(left) : (el.dataset.overdue || "-") + " " + span(-left);
      el.classList.toggle("error", left < 0);
    });
  }
  tick();
  setInterval(tick, 1000);
})();

// The command queue's live clocks and refresh: each `.countdown` counts down to its `data-deadline` (seconds
// left, negative once the deadline has passed). The server computed the deadlines; this only ticks.
(function () {
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.deadline) - now) / 1000);
      el.textContent = left + " s";
      el.classList.toggle("error", left < 0);
    });
  }
  tick();
  setInterval(tick, 1000);
  // The queue itself is read again every `data-refresh-s` seconds, so new calls appear.
  var queue = document.querySelector("[data-refresh-s]");
  if (queue) {
    setTimeout(function () { window.location.reload(); }, 1000 * Number(queue.dataset.refreshS));
  }
})();

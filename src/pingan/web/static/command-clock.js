// The command queue reads itself again every `data-refresh-s` seconds, so new calls appear (its clocks
// tick in countdown.js).
(function () {
  var queue = document.querySelector("[data-refresh-s]");
  if (queue) {
    setTimeout(function () { window.location.reload(); }, 1000 * Number(queue.dataset.refreshS));
  }
})();

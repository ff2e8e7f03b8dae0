// Keeps a textarea's "n / max" counter up to date as the user types (data-counter names the counter).
document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
  var counter = document.getElementById(area.dataset.counter);
  var count = counter && counter.querySelector("[data-count]");
  if (!count) return;
  area.addEventListener("input", function () { count.textContent = String(area.value.length); });
});

// The community pages' charts (Apache ECharts), drawn from the JSON the server embedded in the page.
// A file, not an inline script, so that the Content-Security-Policy can forbid inline scripts.
(function () {
  var data = document.getElementById("community-charts");
  if (!data || typeof echarts === "undefined") return;
  var options = JSON.parse(data.textContent);
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var option = options[el.dataset.chart];
    if (!option) return;
    var chart = echarts.init(el, null, {renderer: "svg"});
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  });
  document.documentElement.dataset.chartsReady = "1";
})();

// The wastewater trend charts (Apache ECharts), drawn from the JSON the server embedded in the page:
// each load as a line, its 95% interval as a band. A file, not an inline script (CSP).
(function () {
  var data = document.getElementById("narcotics-charts");
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

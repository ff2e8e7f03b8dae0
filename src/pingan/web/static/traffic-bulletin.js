// The monthly traffic bulletin's chart: accidents, deaths and injuries by month, this year against last.
(function () {
  const el = document.getElementById("traffic-yoy");
  if (!el || !window.echarts) return;
  const s = JSON.parse(el.dataset.series);
  const w = el.dataset;
  const names = [w.wordAccidents, w.wordDeaths, w.wordInjuries];
  const keys = ["accidents", "deaths", "injuries"];
  const series = [];
  keys.forEach((k, i) => {
    series.push({ name: `${names[i]} ${s.last_year}`, type: "line", data: s[k][0], lineStyle: { type: "dashed" } });
    series.push({ name: `${names[i]} ${s.this_year}`, type: "line", data: s[k][1] });
  });
  const chart = window.echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", top: 0 },
    grid: { left: 40, right: 10, top: 50, bottom: 30 },
    xAxis: { type: "category", data: s.months },
    yAxis: { type: "value", minInterval: 1 },
    series,
  });
  window.addEventListener("resize", () => chart.resize());
})();

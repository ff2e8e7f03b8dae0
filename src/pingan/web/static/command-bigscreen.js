// The big screen's key figures: two ECharts (shares within target, units available and busy),
// refetched with the figures on each `map` event of the live stream.
(function () {
  "use strict";
  const source = document.getElementById("bigscreen-figures");
  if (!source || !window.echarts) return;
  const shares = document.getElementById("chart-shares");
  const units = document.getElementById("chart-units");
  const shareChart = window.echarts.init(shares);
  const unitChart = window.echarts.init(units);

  function draw(f) {
    shareChart.setOption({
      grid: { left: 150, right: 30, top: 10, bottom: 30 },
      xAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value} %" } },
      yAxis: { type: "category", data: [shares.dataset.labelSignOff, shares.dataset.labelOnScene] },
      series: [{ type: "bar", data: [f.sign_off_pct ?? 0, f.on_scene_pct ?? 0], label: { show: true, position: "right", formatter: "{c} %" } }],
    });
    unitChart.setOption({
      series: [{
        type: "pie", radius: ["40%", "70%"], label: { formatter: "{b}: {c}" },
        data: [
          { name: units.dataset.labelAvailable, value: f.units_available, itemStyle: { color: "#2e7d32" } },
          { name: units.dataset.labelBusy, value: f.units_busy, itemStyle: { color: "#f9a825" } },
        ],
      }],
    });
    for (const [key, value] of Object.entries(f)) {
      const dd = document.querySelector(`[data-figure="${key}"]`);
      if (!dd) continue;
      dd.textContent = key.endsWith("_pct") ? (value === null ? "—" : `${value} %`) : String(value);
    }
  }

  draw(JSON.parse(source.dataset.figures));
  const full = document.getElementById("go-fullscreen");
  if (full) {
    full.addEventListener("click", () => {
      const screen = document.getElementById("bigscreen");
      if (screen.requestFullscreen) screen.requestFullscreen().catch((err) => console.error(err));
    });
  }
  const stream = new EventSource("/live/stream?topics=map");
  stream.addEventListener("map", () => {
    fetch("/command/bigscreen/figures.json", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(draw)
      .catch((err) => console.error(err));
  });
  stream.addEventListener("end", () => stream.close());
  window.addEventListener("resize", () => { shareChart.resize(); unitChart.resize(); });
})();

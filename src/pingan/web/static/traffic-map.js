// The traffic map layers: MapLibre with an offline style.
// - /traffic/blackspots: every segment coloured by the network kernel density of accidents
//   (data-density), under the ranked segments (data-spots), darker and wider the higher they rank;
// - /traffic/racing: the street-racing hot spots as circles (data-racing), larger the higher they score.
import * as maplibregl from "/static/vendor/maplibre-gl/maplibre-gl.mjs";

const el = document.getElementById("traffic-map");
const EMPTY = { type: "FeatureCollection", features: [] };

function text(value) {
  const span = document.createElement("span");
  span.textContent = value;
  return span.innerHTML;
}

async function load(url) {
  if (!url) return EMPTY;
  const r = await fetch(url, { credentials: "same-origin" });
  return r.ok ? await r.json() : EMPTY;
}

function extend(b, geometry) {
  if (geometry.type === "Point") b.extend(geometry.coordinates);
  else geometry.coordinates.forEach((c) => b.extend(c));
}

async function start() {
  if (!el) return;
  const [spots, density, racing] = await Promise.all([
    load(el.dataset.spots), load(el.dataset.density), load(el.dataset.racing),
  ]);
  const b = new maplibregl.LngLatBounds();
  [spots, density, racing].forEach((fc) => fc.features.forEach((f) => extend(b, f.geometry)));
  const top = Math.max(density.max_density || 0, 1e-9);
  const map = new maplibregl.Map({
    container: el,
    style: {
      version: 8,
      sources: {
        spots: { type: "geojson", data: spots },
        density: { type: "geojson", data: density },
        racing: { type: "geojson", data: racing },
      },
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#f4f1ea" } },
        {
          id: "density", type: "line", source: "density",
          paint: {
            "line-color": ["interpolate", ["linear"], ["get", "density"], 0, "#fff3b0", top / 2, "#f28c28", top, "#7f0000"],
            "line-width": 4,
          },
        },
        {
          id: "spots", type: "line", source: "spots",
          paint: {
            "line-color": ["interpolate", ["linear"], ["get", "rank"], 1, "#b71c1c", 50, "#ef9a9a"],
            "line-width": ["interpolate", ["linear"], ["get", "rank"], 1, 8, 50, 3],
            "line-opacity": 0.85,
          },
        },
        {
          id: "racing", type: "circle", source: "racing",
          paint: {
            "circle-color": "#6a1b9a",
            "circle-opacity": 0.7,
            "circle-radius": ["interpolate", ["linear"], ["get", "rank"], 1, 16, 20, 5],
          },
        },
      ],
    },
    bounds: b.isEmpty() ? [[103.9, 30.5], [104.2, 30.8]] : b,
    fitBoundsOptions: { padding: 30 },
    attributionControl: false,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  el.maplibre = map;
  el.dataset.spotCount = String(spots.features.length);
  el.dataset.densityCount = String(density.features.length);
  el.dataset.racingCount = String(racing.features.length);
  const w = el.dataset;
  map.on("click", "spots", (e) => {
    const p = e.features[0].properties;
    new maplibregl.Popup().setLngLat(e.lngLat)
      .setHTML(`${text(w.wordRank)} ${text(String(p.rank))} · ${text(p.place || "#" + String(p.edge_id))}<br>`
        + `${text(w.wordObserved)}: ${text(String(p.observed))} · ${text(w.wordExcess)}: ${text(String(p.excess))}`)
      .addTo(map);
  });
  map.on("click", "density", (e) => {
    const p = e.features[0].properties;
    new maplibregl.Popup().setLngLat(e.lngLat)
      .setHTML(`#${text(String(p.edge_id))}<br>${text(w.wordDensity || "")}: ${text(String(p.density))}`)
      .addTo(map);
  });
  map.on("click", "racing", (e) => {
    const p = e.features[0].properties;
    new maplibregl.Popup().setLngLat(e.lngLat)
      .setHTML(`${text(w.wordRank)} ${text(String(p.rank))} · ${text(p.name || p.place)}<br>`
        + `${text(w.wordScore)}: ${text(String(p.score))} · ${text(w.wordHour)}: ${text(String(p.hour))}:00`)
      .addTo(map);
  });
}

start();

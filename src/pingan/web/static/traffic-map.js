// The black-spot map layer (/traffic/blackspots): MapLibre with an offline style; the ranked road
// segments from /traffic/blackspots.geojson, darker and wider the higher they rank.
import * as maplibregl from "/static/vendor/maplibre-gl/maplibre-gl.mjs";

const el = document.getElementById("traffic-map");

function text(value) {
  const span = document.createElement("span");
  span.textContent = value;
  return span.innerHTML;
}

async function start() {
  if (!el) return;
  const r = await fetch(el.dataset.spots, { credentials: "same-origin" });
  const spots = r.ok ? await r.json() : { type: "FeatureCollection", features: [] };
  const b = new maplibregl.LngLatBounds();
  spots.features.forEach((f) => f.geometry.coordinates.forEach((c) => b.extend(c)));
  const map = new maplibregl.Map({
    container: el,
    style: {
      version: 8,
      sources: { spots: { type: "geojson", data: spots } },
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#f4f1ea" } },
        {
          id: "spots", type: "line", source: "spots",
          paint: {
            "line-color": ["interpolate", ["linear"], ["get", "rank"], 1, "#b71c1c", 50, "#ef9a9a"],
            "line-width": ["interpolate", ["linear"], ["get", "rank"], 1, 8, 50, 3],
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
  map.on("click", "spots", (e) => {
    const p = e.features[0].properties;
    const w = el.dataset;
    new maplibregl.Popup().setLngLat(e.lngLat)
      .setHTML(`${text(w.wordRank)} ${text(String(p.rank))} · #${text(String(p.edge_id))}<br>`
        + `${text(w.wordObserved)}: ${text(String(p.observed))} · ${text(w.wordExcess)}: ${text(String(p.excess))}`)
      .addTo(map);
  });
}

start();

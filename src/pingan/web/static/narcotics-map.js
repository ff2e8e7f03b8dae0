// The wastewater site map: MapLibre with an offline style whose one source is our GeoJSON of sites
// (treatment plants, sized by the population they serve). No base map is fetched from elsewhere.
import * as maplibregl from "/static/vendor/maplibre-gl/maplibre-gl.mjs";

const el = document.getElementById("narcotics-map");

function text(value) {
  const span = document.createElement("span");
  span.textContent = value;
  return span.innerHTML;
}

async function start() {
  if (!el) return;
  const r = await fetch(el.dataset.sites, { credentials: "same-origin", headers: { Accept: "application/geo+json" } });
  const sites = r.ok ? await r.json() : { type: "FeatureCollection", features: [] };
  const map = new maplibregl.Map({
    container: el,
    style: {
      version: 8,
      sources: { sites: { type: "geojson", data: sites } },
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#f4f6f8" } },
        {
          id: "sites", type: "circle", source: "sites",
          paint: {
            "circle-radius": ["interpolate", ["linear"], ["get", "population"], 10000, 4, 1000000, 14],
            "circle-color": ["case", [">", ["get", "samples"], 0], "#1565c0", "#90a4ae"],
            "circle-stroke-color": "#fff", "circle-stroke-width": 1,
          },
        },
      ],
    },
    center: [0, 30], zoom: 1, attributionControl: false,
  });
  const b = new maplibregl.LngLatBounds();
  sites.features.forEach((f) => b.extend(f.geometry.coordinates));
  if (!b.isEmpty()) map.fitBounds(b, { padding: 30, maxZoom: 10, duration: 0 });
  map.on("click", "sites", (e) => {
    const p = e.features[0].properties;
    new maplibregl.Popup().setLngLat(e.lngLat).setHTML(
      `<strong><a href="${text(p.url)}">${text(p.city)} (${text(p.code)})</a></strong><br>`
      + `${text(el.dataset.wordPopulation)}: ${text(String(p.population))}<br>`
      + `${text(el.dataset.wordSamples)}: ${text(String(p.samples))}`,
    ).addTo(map);
  });
  map.on("mouseenter", "sites", () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", "sites", () => { map.getCanvas().style.cursor = ""; });
  document.documentElement.dataset.mapReady = "1";
}

start();

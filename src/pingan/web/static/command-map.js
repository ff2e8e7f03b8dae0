// The command live map (/command/map and the big screen): MapLibre with an offline style whose
// sources are our GeoJSON routes (station areas, incidents, units). A `map` event of the live
// stream names the incidents and units that changed: only those are fetched (`&ids=`, with the
// page's filters) and merged into what the map shows. Everything is fetched on load and every
// FULL_REFRESH_MS, so that incidents leave the time window.
import * as maplibregl from "/static/vendor/maplibre-gl/maplibre-gl.mjs";

const el = document.getElementById("command-map");
const PRIORITY_COLOURS = ["match", ["get", "priority"], "1", "#c62828", "2", "#ef6c00", "#1565c0"];
const STATE_COLOURS = [
  "match", ["get", "state"],
  "available", "#2e7d32", "off_duty", "#9e9e9e", "on_scene", "#6a1b9a", "#f9a825",
];

const FULL_REFRESH_MS = 5 * 60 * 1000;
// The event mode's zones and drones, while it is on: fetched again at each `crowd` event of the live
// stream (an alert raised or closed, and at most once a second per event a count, a drone's later
// report or a zone edited); this slow poll is the fallback, as the full refresh is for the rest.
const EVENT_REFRESH_MS = 60 * 1000;
// A crowd zone's level (pingan.sensors rules: watch 70 %, control 90 %, over 100 %).
const LEVEL_COLOURS = ["match", ["get", "level"], "watch", "#fbc02d", "control", "#ef6c00", "over", "#c62828", "#66bb6a"];
const MAX_IDS = 500; // as the server's `?ids=` accepts at most (command/map.py MAX_IDS)

function emptyCollection() {
  return { type: "FeatureCollection", features: [] };
}

async function fetchJson(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

function bounds(collection) {
  const b = new maplibregl.LngLatBounds();
  const add = (c) => { if (typeof c[0] === "number") b.extend(c); else c.forEach(add); };
  collection.features.forEach((f) => add(f.geometry.coordinates));
  return b.isEmpty() ? null : b;
}

function text(value) {
  const span = document.createElement("span");
  span.textContent = value;
  return span.innerHTML;
}

function incidentPopup(p) {
  const w = el.dataset;
  return `<strong><a href="${text(p.url)}">${text(w.wordIncident)} #${text(String(p.id))}</a></strong><br>`
    + `${text(p.category || w.wordUncategorised)}<br>`
    + `${text(w.wordPriority)}: ${text(p.priority_label)} · ${text(w.wordStatus)}: ${text(p.status_label)}<br>`
    + `${text(w.wordReceived)}: ${text(p.received)}<br>${text(p.address || "")}`
    + (p.breached ? `<br><strong class="error">${text(w.wordBreached)}</strong>` : "");
}

function unitPopup(p) {
  const w = el.dataset;
  return `<strong>${text(p.call_sign)}</strong> · ${text(p.station_name || p.station)}<br>`
    + `${text(w.wordState)}: ${text(p.state_label)}`
    + (p.incident_id ? `<br>${text(w.wordIncident)} #${text(String(p.incident_id))}` : "");
}

async function start() {
  if (!el) return;
  const stations = await fetchJson(el.dataset.stations).catch(() => emptyCollection());
  const map = new maplibregl.Map({
    container: el,
    style: {
      version: 8,
      sources: {
        stations: { type: "geojson", data: stations },
        incidents: { type: "geojson", data: emptyCollection() },
        units: { type: "geojson", data: emptyCollection() },
        safety: { type: "geojson", data: emptyCollection() },
        events: { type: "geojson", data: emptyCollection() },
      },
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#f4f1ea" } },
        { id: "station-areas", type: "fill", source: "stations", paint: { "fill-color": "#dfe7ef", "fill-opacity": 0.6 } },
        { id: "station-lines", type: "line", source: "stations", paint: { "line-color": "#5c6b7a", "line-width": 1.5 } },
        {
          id: "incident-alerts", type: "circle", source: "incidents", filter: ["==", ["get", "breached"], true],
          paint: { "circle-radius": 14, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#d50000", "circle-stroke-width": 3 },
        },
        {
          id: "incidents", type: "circle", source: "incidents",
          paint: {
            "circle-radius": ["match", ["get", "status"], "open", 7, 4],
            "circle-color": PRIORITY_COLOURS,
            "circle-opacity": ["match", ["get", "status"], "open", 1, 0.45],
            "circle-stroke-color": "#ffffff", "circle-stroke-width": 1,
          },
        },
        {
          // The event mode (pingan.sensors): crowd zones filled by level, no-fly zones outlined in red.
          id: "event-zones", type: "fill", source: "events", layout: { visibility: "none" },
          filter: ["==", ["get", "kind"], "zone"], paint: { "fill-color": LEVEL_COLOURS, "fill-opacity": 0.45 },
        },
        {
          // A crowd zone with an active alert: a thick red outline until the alert is closed.
          id: "event-zone-alerts", type: "line", source: "events", layout: { visibility: "none" },
          filter: ["all", ["==", ["get", "kind"], "zone"], [">", ["get", "active_alerts"], 0]],
          paint: { "line-color": "#b00020", "line-width": 4 },
        },
        {
          id: "event-no-fly", type: "line", source: "events", layout: { visibility: "none" },
          filter: ["==", ["get", "kind"], "no_fly"], paint: { "line-color": "#b00020", "line-width": 2, "line-dasharray": [2, 1] },
        },
        {
          id: "event-drones", type: "circle", source: "events", layout: { visibility: "none" },
          filter: ["==", ["get", "kind"], "drone"],
          paint: { "circle-radius": 8, "circle-color": "#b00020", "circle-stroke-color": "#ffffff", "circle-stroke-width": 2 },
        },
        {
          // Officer-safety alerts (pingan.sensors): a wide red ring at the officer's last position.
          id: "safety-rings", type: "circle", source: "safety",
          paint: { "circle-radius": 26, "circle-color": "rgba(176,0,32,0.15)", "circle-stroke-color": "#b00020", "circle-stroke-width": 4 },
        },
        {
          id: "units", type: "circle", source: "units",
          paint: { "circle-radius": 5, "circle-color": STATE_COLOURS, "circle-stroke-color": "#212121", "circle-stroke-width": 2 },
        },
      ],
    },
    bounds: bounds(stations) || [[114.0, 30.3], [114.6, 30.8]],
    fitBoundsOptions: { padding: 20 },
    attributionControl: false,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  el.maplibre = map; // for the browser tests and the console

  // What the map shows, by feature id: a full fetch replaces it, an event's fetch patches it.
  const shown = { incidents: new Map(), units: new Map() };

  function draw(name) {
    map.getSource(name).setData({ type: "FeatureCollection", features: [...shown[name].values()] });
  }

  async function refreshSafety() {
    // The alert rings come from the sensors package, where that package is installed and readable.
    const safety = el.dataset.safety ? await fetchJson(el.dataset.safety).catch(() => emptyCollection()) : emptyCollection();
    map.getSource("safety").setData(safety);
    el.dataset.safetyCount = String(safety.features.length);
  }

  const EVENT_LAYERS = ["event-zones", "event-zone-alerts", "event-no-fly", "event-drones"];
  let eventTimer = null;
  let eventModeOn = false;
  async function refreshEvents() {
    const events = await fetchJson(el.dataset.events).catch(() => emptyCollection());
    map.getSource("events").setData(events);
    el.dataset.eventCount = String(events.features.length);
    el.dataset.eventAlerts = String(events.features.reduce((n, f) => n + (f.properties.active_alerts || 0), 0));
    el.eventFeatures = events; // for the browser tests and the console
    // What the event mode shows, read by the browser tests: each zone's count, each drone's position.
    const kind = (k) => events.features.filter((f) => f.properties.kind === k);
    el.dataset.eventCounts = kind("zone").map((f) => `${f.properties.code}:${f.properties.count ?? ""}`).join(" ");
    el.dataset.eventDrones = kind("drone").map((f) => f.geometry.coordinates.map((v) => v.toFixed(4)).join(",")).join(" ");
    el.dispatchEvent(new CustomEvent("command-map:events", { bubbles: true }));
  }
  function eventMode(on) {
    for (const id of EVENT_LAYERS) map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
    clearInterval(eventTimer);
    eventModeOn = on;
    if (on) {
      refreshEvents().catch((err) => console.error(err));
      eventTimer = setInterval(() => refreshEvents().catch((err) => console.error(err)), EVENT_REFRESH_MS);
    }
  }

  function refreshed() {
    el.dataset.incidentCount = String(shown.incidents.size);
    el.dataset.unitCount = String(shown.units.size);
    el.dispatchEvent(new CustomEvent("command-map:refreshed", { bubbles: true }));
  }

  async function refresh() {
    const [incidents, units] = await Promise.all([
      fetchJson(el.dataset.incidents), fetchJson(el.dataset.units),
    ]);
    for (const [name, collection] of [["incidents", incidents], ["units", units]]) {
      shown[name] = new Map(collection.features.map((f) => [f.id, f]));
      draw(name);
    }
    await refreshSafety();
    refreshed();
  }

  // Fetch the named features again: one that does not come back has left the filters or the view.
  async function refetch(name, ids) {
    if (ids.size === 0) return [];
    const query = [...ids].map((id) => `ids=${id}`).join("&");
    const collection = await fetchJson(`${el.dataset[name]}&${query}`);
    const before = [...ids].map((id) => shown[name].get(id)).filter(Boolean);
    for (const id of ids) shown[name].delete(id);
    for (const f of collection.features) shown[name].set(f.id, f);
    draw(name);
    return [...before, ...collection.features];
  }

  async function patch(changed) {
    // A unit's move changes its incident's state too (assigned, on scene, closed): the incidents a
    // changed unit was on before and is on now are fetched with those the event named.
    const units = await refetch("units", changed.units);
    for (const f of units) if (f.properties.incident_id) changed.incidents.add(f.properties.incident_id);
    await refetch("incidents", changed.incidents);
    refreshed();
  }

  // One popup per click: a unit standing on its incident is drawn on top of it, so the unit's popup
  // wins (a handler per layer would open two popups, one over the other).
  const POPUPS = { units: unitPopup, incidents: incidentPopup };
  let open = null;
  map.on("click", (e) => {
    const layers = ["units", "incidents"].filter((id) => map.getLayer(id));
    const f = map.queryRenderedFeatures(e.point, { layers })[0];
    if (!f) return;
    if (open) open.remove();
    open = new maplibregl.Popup().setLngLat(f.geometry.coordinates).setHTML(POPUPS[f.layer.id](f.properties)).addTo(map);
  });
  for (const layer of Object.keys(POPUPS)) {
    map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
  }

  map.on("load", () => {
    const toggle = document.getElementById("event-mode");
    if (toggle && el.dataset.events) {
      toggle.addEventListener("change", () => eventMode(toggle.checked));
      if (toggle.checked) eventMode(true);
    }
    el.dataset.ready = "1";
    refresh().catch((err) => console.error(err));
    setInterval(() => refresh().catch((err) => console.error(err)), FULL_REFRESH_MS);
    const stream = new EventSource(el.dataset.stream);
    let pending = null;
    let changed = { incidents: new Set(), units: new Set() };
    const later = (event) => {
      // A burst of changes is one fetch of the features they name.
      try {
        const named = JSON.parse(event.data);
        for (const id of named.incidents || []) changed.incidents.add(id);
        for (const id of named.units || []) changed.units.add(id);
      } catch (err) {
        console.error(err);
      }
      clearTimeout(pending);
      pending = setTimeout(() => {
        const batch = changed;
        changed = { incidents: new Set(), units: new Set() };
        const work = batch.incidents.size > MAX_IDS || batch.units.size > MAX_IDS ? refresh() : patch(batch);
        work.catch((err) => console.error(err));
      }, 200);
    };
    stream.addEventListener("map", later);
    stream.addEventListener("safety", () => refreshSafety().then(refreshed).catch((err) => console.error(err)));
    stream.addEventListener("crowd", () => {
      if (eventModeOn) refreshEvents().catch((err) => console.error(err));
    });
    stream.addEventListener("end", () => stream.close());
  });
}

start();

// Drawing an event's zone (pingan.sensors, /sensors/events/{id}, and editing one at /sensors/zones/{id}):
// click the map to add corners, see the polygon as it grows, double-click or press Finish to close it,
// undo the last corner or clear; drag a corner to move it (the way an existing zone is edited).
// The closed polygon fills the form's GeoJSON field ([[[lon, lat], ...]], the first corner again at
// the end); the field stays the way to type or paste a polygon, and what is typed there is drawn.
// The server checks the polygon again: it is the authority (a bad one is a 422 naming `polygon`).
import * as maplibregl from "/static/vendor/maplibre-gl/maplibre-gl.mjs";

const el = document.getElementById("zone-draw-map");
const field = document.getElementById("zone-polygon");
const finishButton = document.getElementById("zone-draw-finish");
const undoButton = document.getElementById("zone-draw-undo");
const clearButton = document.getElementById("zone-draw-clear");
const status = document.getElementById("zone-draw-status");

const DEFAULT_BOUNDS = [[114.0, 30.3], [114.6, 30.8]]; // as the live map's, when nothing is known
// A second click this close to the last corner (a double-click's) adds no corner.
const SAME_CORNER_PX = 4;
const DECIMALS = 1e6; // about 0.1 m: finer than any counter's zone

function emptyCollection() {
  return { type: "FeatureCollection", features: [] };
}

function bounds(collection) {
  const b = new maplibregl.LngLatBounds();
  const add = (c) => { if (typeof c[0] === "number") b.extend(c); else c.forEach(add); };
  collection.features.forEach((f) => add(f.geometry.coordinates));
  return b.isEmpty() ? null : b;
}

async function fetchJson(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

function boundsWith(ring, collection) {
  const b = bounds(collection) || new maplibregl.LngLatBounds();
  if (ring) ring.forEach((c) => b.extend(c));
  return b.isEmpty() ? null : b;
}

// The field's polygon as one ring of [lon, lat] (null when it does not read as one): its coordinates, a
// Polygon geometry or a Feature, as the server reads it.
function fieldRing() {
  let parsed;
  try {
    parsed = JSON.parse(field.value);
  } catch {
    return null;
  }
  if (parsed && parsed.type === "Feature") parsed = parsed.geometry;
  if (parsed && parsed.type === "Polygon") parsed = parsed.coordinates;
  const r = Array.isArray(parsed) && Array.isArray(parsed[0]) ? parsed[0] : null;
  if (!r || r.length < 4 || !r.every((p) => Array.isArray(p) && p.length === 2 && p.every(Number.isFinite))) return null;
  return r;
}

function round(v) {
  return Math.round(v * DECIMALS) / DECIMALS;
}

async function start() {
  if (!el || !field) return;
  // The station areas are the base layer where the user may read them; a drawing needs none.
  const stations = await fetchJson(el.dataset.stations).catch(() => emptyCollection());
  let zones = emptyCollection();
  try {
    zones = JSON.parse(el.dataset.zones || "") || emptyCollection();
  } catch (err) {
    console.error(err);
  }
  const map = new maplibregl.Map({
    container: el,
    style: {
      version: 8,
      sources: {
        stations: { type: "geojson", data: stations },
        zones: { type: "geojson", data: zones },
        draft: { type: "geojson", data: emptyCollection() },
      },
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#f4f1ea" } },
        { id: "station-areas", type: "fill", source: "stations", paint: { "fill-color": "#dfe7ef", "fill-opacity": 0.6 } },
        { id: "station-lines", type: "line", source: "stations", paint: { "line-color": "#5c6b7a", "line-width": 1 } },
        // The event's zones so far: crowd zones grey, no-fly zones outlined in red.
        { id: "zones", type: "fill", source: "zones", paint: { "fill-color": ["case", ["get", "no_fly"], "rgba(0,0,0,0)", "#9e9e9e"], "fill-opacity": 0.35 } },
        { id: "zone-lines", type: "line", source: "zones", paint: { "line-color": ["case", ["get", "no_fly"], "#b00020", "#616161"], "line-width": 1.5 } },
        // The zone being drawn: its area once it has three corners, its edges, its corners.
        {
          id: "draft-fill", type: "fill", source: "draft", filter: ["==", ["geometry-type"], "Polygon"],
          paint: { "fill-color": "#1565c0", "fill-opacity": ["case", ["get", "closed"], 0.35, 0.15] },
        },
        {
          id: "draft-line", type: "line", source: "draft", filter: ["==", ["geometry-type"], "LineString"],
          paint: { "line-color": "#0d47a1", "line-width": 2.5 },
        },
        {
          id: "draft-corners", type: "circle", source: "draft", filter: ["==", ["geometry-type"], "Point"],
          paint: { "circle-radius": 5, "circle-color": "#ffffff", "circle-stroke-color": "#0d47a1", "circle-stroke-width": 2 },
        },
      ],
    },
    // A zone being edited is framed with its neighbours; a new one among the event's zones.
    bounds: boundsWith(fieldRing(), zones) || bounds(stations) || DEFAULT_BOUNDS,
    fitBoundsOptions: { padding: 30 },
    attributionControl: false,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  // A double-click closes the polygon; zooming stays on the wheel and the buttons.
  map.doubleClickZoom.disable();
  map.getCanvas().style.cursor = "crosshair";
  el.maplibre = map; // for the browser tests and the console

  let corners = []; // [lon, lat], in the order clicked
  let closed = false;

  function ring() {
    return [...corners, corners[0]].map(([lon, lat]) => [round(lon), round(lat)]);
  }

  function draw() {
    const features = [];
    if (corners.length >= 3) {
      features.push({ type: "Feature", properties: { closed }, geometry: { type: "Polygon", coordinates: [ring()] } });
    }
    if (corners.length >= 2) {
      const line = closed ? ring() : corners;
      features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: line } });
    }
    for (const c of corners) features.push({ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: c } });
    map.getSource("draft").setData({ type: "FeatureCollection", features });
    finishButton.disabled = closed || corners.length < 3;
    undoButton.disabled = corners.length === 0;
    clearButton.disabled = corners.length === 0;
    el.dataset.corners = String(corners.length);
    el.dataset.closed = closed ? "1" : "0";
    if (closed) status.textContent = `${corners.length} ${status.dataset.wordCorners} · ${status.dataset.wordClosed}`;
    else status.textContent = `${corners.length} ${status.dataset.wordCorners}`;
  }

  function finish() {
    if (closed || corners.length < 3) return;
    closed = true;
    field.value = JSON.stringify([ring()]);
    field.dispatchEvent(new Event("input", { bubbles: true }));
    draw();
  }

  function undo() {
    // Undo on a closed polygon opens it again; on an open one it takes the last corner away.
    if (closed) closed = false;
    else corners.pop();
    draw();
  }

  function clear() {
    corners = [];
    closed = false;
    field.value = "";
    draw();
  }

  // What is typed or pasted in the field is drawn, when it reads as one closed ring.
  function fromField() {
    const r = fieldRing();
    if (!r) return;
    const [first, last] = [r[0], r[r.length - 1]];
    corners = first[0] === last[0] && first[1] === last[1] ? r.slice(0, -1) : r.slice();
    closed = true;
    draw();
  }

  // Dragging a corner moves it; on a closed polygon the field follows when the corner is let go.
  let dragging = null; // the index of the corner held
  let dragged = false;
  let dragEnded = 0; // a drag may end with a click event, which must add no corner
  map.on("mouseenter", "draft-corners", () => { map.getCanvas().style.cursor = "move"; });
  map.on("mouseleave", "draft-corners", () => { if (dragging === null) map.getCanvas().style.cursor = "crosshair"; });
  map.on("mousedown", "draft-corners", (e) => {
    let best = null;
    corners.forEach((c, i) => {
      const p = map.project(c);
      const d = Math.hypot(p.x - e.point.x, p.y - e.point.y);
      if (best === null || d < best.d) best = { i, d };
    });
    if (best === null) return;
    e.preventDefault(); // the map does not pan while a corner is held
    dragging = best.i;
    dragged = false;
  });
  map.on("mousemove", (e) => {
    if (dragging === null) return;
    corners[dragging] = [e.lngLat.lng, e.lngLat.lat];
    dragged = true;
    draw();
  });
  map.on("mouseup", () => {
    if (dragging === null) return;
    dragging = null;
    map.getCanvas().style.cursor = "crosshair";
    if (dragged && closed) {
      field.value = JSON.stringify([ring()]);
      field.dispatchEvent(new Event("input", { bubbles: true }));
    }
    if (dragged) {
      el.dataset.moved = String(Number(el.dataset.moved || "0") + 1);
      dragEnded = performance.now();
    }
    dragged = false;
  });

  map.on("click", (e) => {
    if (performance.now() - dragEnded < 300) return;
    if (closed) return;
    const last = corners[corners.length - 1];
    if (last) {
      const p = map.project(last);
      if (Math.hypot(p.x - e.point.x, p.y - e.point.y) <= SAME_CORNER_PX) return;
    }
    corners.push([e.lngLat.lng, e.lngLat.lat]);
    draw();
  });
  map.on("dblclick", (e) => {
    e.preventDefault();
    finish();
  });
  finishButton.addEventListener("click", finish);
  undoButton.addEventListener("click", undo);
  clearButton.addEventListener("click", clear);
  field.addEventListener("change", fromField);

  map.on("load", () => {
    if (field.value.trim()) fromField(); // a form sent back with an error keeps its polygon
    draw();
    el.dataset.ready = "1";
  });
}

start();

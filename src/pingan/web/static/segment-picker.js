// The segment picker of the traffic forms (_segment_picker.html): type part of a road's name, choose
// the road, then the segment between its cross streets. The segment's number goes into the form's
// field (data-edge), or is added to its list where the picker takes many (data-many), and its place
// shows under it. Without JavaScript the numbers are typed by hand.
const json = async (url) => {
  const r = await fetch(url, { headers: { accept: "application/json" } });
  return r.ok ? r.json() : null;
};

for (const box of document.querySelectorAll(".segment-picker")) {
  const road = box.querySelector("[data-road]");
  const names = box.querySelector("datalist");
  const pick = box.querySelector("[data-segment]");
  const edge = box.querySelector("[data-edge]");
  const many = box.hasAttribute("data-many");
  const place = box.querySelector("[data-place]");
  let shown = "";

  const segments = async (name) => {
    if (!name || name === shown) return;
    shown = name;
    const found = await json(`${box.dataset.segments}?road=${encodeURIComponent(name)}`);
    if (!found) {
      pick.replaceChildren(new Option(box.dataset.wordNone, ""));
      pick.disabled = true;
      return;
    }
    pick.replaceChildren(
      new Option(box.dataset.wordPick, ""),
      ...found.segments.map((s) => new Option(s.place, String(s.edge_id), false, !many && String(s.edge_id) === edge.value)),
    );
    pick.disabled = false;
  };

  let timer;
  road.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = road.value.trim();
      if (!q) return;
      const found = await json(`${box.dataset.roads}?q=${encodeURIComponent(q)}`);
      if (!found) return;
      names.replaceChildren(...found.roads.map((n) => new Option(n, n)));
      if (found.roads.includes(q)) await segments(q);
    }, 200);
  });
  road.addEventListener("change", () => segments(road.value.trim()));
  pick.addEventListener("change", () => {
    if (!pick.value) return;
    const chosen = pick.selectedOptions[0].text;
    if (!many) {
      edge.value = pick.value;
      place.textContent = chosen;
      return;
    }
    const ids = edge.value.split(/[\s,]+/).filter(Boolean);
    if (ids.includes(pick.value)) return;
    edge.value = [...ids, pick.value].join(", ");
    place.textContent = place.textContent ? `${place.textContent}、${chosen}` : chosen;
  });
  edge.addEventListener("input", () => { place.textContent = ""; });
  if (road.value) segments(road.value.trim()); // a form opened at a segment: its road's other segments
}

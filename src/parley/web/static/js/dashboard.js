/* The dashboard: the region's notifications on the map, in a live list and on a timeline.
   Everything comes from /api/v1 (list, areas) and the live stream; a notification committed at
   another node appears here without a reload. */
"use strict";

(async () => {
  const { el, api, page, strings } = Parley;
  const categories = Object.fromEntries(page.categories);
  const list = document.getElementById("notifications");
  const empty = document.getElementById("list-empty");
  const more = document.getElementById("more");
  const form = document.getElementById("filters");
  const timeline = document.getElementById("timeline");
  const shown = new Map(); // ref -> list item
  const drawn = new Set(); // the refs whose areas are on the map
  const recent = new Map(); // ref -> {time, severity} for the timeline
  let cursor = null;

  // The first page of areas is asked for before the map is built: the node prepares it meanwhile.
  const firstAreas = api("GET", `/notifications/areas?${areaQuery()}`);
  const { map, base } = ParleyMap.start(document.getElementById("map"));
  const areas = L.featureGroup().addTo(map);
  document.getElementById("view-region").addEventListener("click", () => map.fitBounds(ParleyMap.EAST_ASIA));
  document.getElementById("view-world").addEventListener("click", () => map.fitWorld());

  function filters() {
    const data = new FormData(form);
    const query = new URLSearchParams();
    for (const name of ["category", "severity", "status"]) if (data.get(name)) query.set(name, data.get(name));
    const party = String(data.get("party") || "").trim().toUpperCase();
    if (party) query.set("party", party);
    if (data.get("since")) query.set("since", String(Date.now() - Number(data.get("since"))));
    return query;
  }

  function item(n) {
    const summary = n.summary;
    const severity = summary ? summary.severity : null;
    const title = summary ? (summary.headline || summary.event || n.ref) : strings.withheld;
    const category = summary && summary.category ? (categories[summary.category] || summary.category) : "";
    const msgType = summary && summary.msg_type && summary.msg_type !== "Alert" ? (Parley.strings.cap.msg_types[summary.msg_type] || summary.msg_type) : null;
    return el("li", { class: `item ${Parley.severityClass(severity)}`, dataset: { ref: n.ref, status: n.status } },
      Parley.statusBanner(n.status),
      el("p", { class: "item-head" },
        el("a", { href: `/notifications/${n.ref}` }, title),
        msgType ? el("span", { class: "msg-type" }, msgType) : null),
      el("p", { class: "item-meta" },
        el("span", { class: `badge ${Parley.severityClass(severity)}` }, severity ? (Parley.strings.cap.severities[severity] || severity) : "—"),
        " ", category, " · ", el("span", { class: "party" }, n.party), " · ", Parley.timeElement(n.time), " · ",
        el("span", { class: "tlp" }, `TLP:${n.tlp}`)),
      n.withheld ? el("p", { class: "withheld" }, n.withheld) : null);
  }

  function place(n, atTop) {
    const old = shown.get(n.ref);
    const fresh = item(n);
    if (old) old.replaceWith(fresh);
    else if (atTop) list.prepend(fresh);
    else list.append(fresh);
    shown.set(n.ref, fresh);
    recent.set(n.ref, { time: n.time, severity: n.summary ? n.summary.severity : null });
    empty.hidden = shown.size > 0;
  }

  async function loadList(reset) {
    const query = filters();
    query.set("limit", "50");
    if (!reset && cursor) query.set("cursor", cursor);
    const answer = await api("GET", `/notifications?${query}`);
    if (reset) { list.replaceChildren(); shown.clear(); recent.clear(); }
    for (const n of answer.items) place(n, false);
    cursor = answer.next_cursor;
    more.hidden = !cursor;
    empty.hidden = shown.size > 0;
    drawTimeline();
  }

  /* One tooltip and one click handler for every area: a layer and a tooltip each would cost
     the drawing of thousands of areas more than their shapes do. */
  areas.bindTooltip((layer) => {
    const props = layer.feature.properties;
    return `${props.ref} · ${props.headline || ""} · ${props.area || ""}`;
  });
  areas.on("click", (event) => {
    const feature = event.layer && event.layer.feature;
    if (feature) window.location.assign(`/notifications/${feature.properties.ref}`);
  });

  /* Each page of areas goes onto the map at once, and the count of drawn areas once a page. */
  function draw(features) {
    for (const feature of features) {
      drawn.add(feature.properties.ref);
      const layer = ParleyMap.areaLayer(feature);
      if (layer) areas.addLayer(layer);
    }
    document.body.dataset.areasDrawn = String(Number(document.body.dataset.areasDrawn || 0) + features.length);
  }

  /* The areas page by page, newest first: the next page is asked for before this one is drawn,
     so that the node prepares it while the browser draws. */
  function areaQuery() {
    const query = filters();
    query.set("limit", "2000");
    return query;
  }

  async function loadAreas(first) {
    areas.clearLayers();
    drawn.clear();
    document.body.dataset.areasDrawn = "0";
    const query = areaQuery();
    const pageAt = (cursor) => {
      if (cursor) query.set("cursor", cursor);
      return api("GET", `/notifications/areas?${query}`);
    };
    let answer = await (first || pageAt(null));
    for (;;) {
      const following = answer.next_cursor ? pageAt(answer.next_cursor) : null;
      draw(answer.features);
      if (!following) break;
      answer = await following;
    }
  }

  async function newest() {
    const query = filters();
    query.set("limit", "20");
    const [page1, features] = await Promise.all([
      api("GET", `/notifications?${query}`),
      api("GET", `/notifications/areas?${new URLSearchParams({ ...Object.fromEntries(query), limit: "20" })}`),
    ]);
    for (const n of page1.items.slice().reverse()) {
      const known = shown.has(n.ref);
      place(n, !known);
      if (!known) shown.get(n.ref).classList.add("fresh");
    }
    draw(features.features.filter((feature) => !drawn.has(feature.properties.ref)));
    drawTimeline();
  }

  /* The last 24 hours as a strip: one mark per notification, coloured by severity. */
  function drawTimeline() {
    const svgNs = "http://www.w3.org/2000/svg";
    const width = 1000;
    const height = 40;
    const end = Date.now();
    const start = end - 86400000;
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    for (let hour = 0; hour <= 24; hour += 6) {
      const line = document.createElementNS(svgNs, "line");
      const x = (hour / 24) * width;
      for (const [k, v] of Object.entries({ x1: x, x2: x, y1: 0, y2: height, class: "tick" })) line.setAttribute(k, v);
      svg.append(line);
    }
    for (const [ref, mark] of recent) {
      if (mark.time < start) continue;
      const rect = document.createElementNS(svgNs, "rect");
      const x = ((mark.time - start) / 86400000) * width;
      for (const [k, v] of Object.entries({ x: x - 2, y: 6, width: 4, height: height - 12, fill: ParleyMap.colour(mark.severity) })) rect.setAttribute(k, v);
      const title = document.createElementNS(svgNs, "title");
      title.textContent = ref;
      rect.append(title);
      svg.append(rect);
    }
    timeline.replaceChildren(svg);
  }

  let pending = null;
  function soon() {
    if (pending) return;
    pending = setTimeout(async () => { pending = null; await newest(); }, 150);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    cursor = null;
    await Promise.all([loadList(true), loadAreas()]);
  });
  more.addEventListener("click", () => loadList(false));
  await Promise.all([loadList(true), loadAreas(firstAreas), base]);
  performance.mark("parley-areas-drawn"); // every area and the base map are drawn
  /* A new notification's event says enough for its row: show it at once (when no filter could
     exclude it), then let the list and the areas catch up through the API. */
  function arrived(event) {
    const filtered = [...new FormData(form).values()].some((value) => String(value).trim());
    if (!filtered && event.ref && !shown.has(event.ref)) {
      const summary = event.withheld ? null : {
        category: event.category, msg_type: event.msg_type, severity: event.severity, headline: event.headline,
      };
      place({ ref: event.ref, party: event.ref.split(":")[0], time: event.time, status: event.status,
        tlp: event.tlp, summary, withheld: event.withheld || null }, true);
      shown.get(event.ref).classList.add("fresh");
      drawTimeline();
    }
    soon();
  }

  Parley.stream({ notification: arrived, update: soon });
  document.body.dataset.ready = "true";
})();

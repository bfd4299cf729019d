/* One notification on paper (A4): its message in the reader's language, its facts, its areas on
   a vector (SVG) map sized in millimetres, the receipts as they stand, its lifecycle, what it
   refers to, and how to check the evidence. Nothing here counts down or changes: the page is a
   record of the moment it was printed. body[data-ready] is set once the areas are drawn. */
"use strict";

(async () => {
  const { el, api, page, strings } = Parley;
  const root = document.getElementById("notification");
  const ref = root.dataset.ref;
  const text = (id, value) => { document.getElementById(id).textContent = value || "—"; };

  function pickInfo(body) {
    const infos = body.info || [];
    const wanted = Parley.lang;
    return infos.find((i) => (i.lang || "").toLowerCase().split("-")[0] === wanted)
      || infos.find((i) => (i.lang || "").toLowerCase().startsWith("en")) || infos[0] || null;
  }

  function numbers(coordinates) {
    return Array.isArray(coordinates) ? coordinates.map(numbers) : Number(coordinates);
  }

  function showMessage(detail) {
    const header = detail.header;
    const status = Parley.statusBanner(header.status);
    const banner = document.getElementById("banner");
    banner.hidden = !status;
    if (status) banner.append(status);
    text("sender", detail.body && detail.body.sender ? `${header.party} (${detail.body.sender})` : header.party);
    text("sent", Parley.time(header.time));
    text("audience", Array.isArray(header.audience) ? `${header.audience.join(", ")} · TLP:${header.tlp}` : `${page.everyone} · TLP:${header.tlp}`);
    const withheld = document.getElementById("withheld");
    withheld.hidden = !detail.withheld;
    withheld.textContent = detail.withheld || "";
    if (!detail.body) {
      text("headline", strings.withheld);
      return null;
    }
    const body = detail.body;
    const info = pickInfo(body);
    const note = document.getElementById("lang-note");
    note.hidden = !info || (info.lang || "").toLowerCase().split("-")[0] === Parley.lang;
    note.textContent = page.not_in_lang;
    text("headline", info && (info.headline || info.event));
    text("category", page.categories[body.category] || body.category);
    text("severity", info && (Parley.strings.cap.severities[info.severity] || info.severity));
    text("urgency", info && (Parley.strings.cap.urgencies[info.urgency] || info.urgency));
    text("certainty", info && (Parley.strings.cap.certainties[info.certainty] || info.certainty));
    text("expires", info && info.expires ? Parley.time(info.expires) : "");
    text("description", info && info.description);
    text("instruction", info && info.instruction);
    const incident = detail.incident;
    const type = Parley.strings.cap.msg_types[body.msg_type] || body.msg_type;
    text("state", incident ? `${page.incident[incident.state] || incident.state} · ${type}` : type);
    for (const id of ["description", "instruction", "headline"]) if (info) document.getElementById(id).lang = info.lang || "";
    return info;
  }

  function clocksOf(addressee) {
    const cell = el("td", { class: "clocks" });
    for (const clock of addressee.clocks) {
      const state = page.clock_states[clock.state] || clock.state;
      const due = clock.due ? [` · ${page.due} `, Parley.timeElement(clock.due)] : [];
      cell.append(el("span", { class: `clock clock-${clock.state}` }, `${page.clocks[clock.clock] || clock.clock}: ${state}`, ...due), el("br"));
    }
    return cell;
  }

  function showMatrix(detail) {
    const tbody = document.querySelector("#matrix tbody");
    if (!detail.addressees.length) {
      tbody.append(el("tr", {}, el("td", { colspan: 5 }, page.no_addressees)));
      return;
    }
    for (const addressee of detail.addressees) {
      const states = addressee.clocks.map((c) => c.state);
      const state = states.includes("missed") ? "missed" : states.includes("late") ? "late" : addressee.status;
      const receipt = (r) => (r ? el("span", {}, Parley.timeElement(r.claimed), r.reply ? el("q", { class: "reply" }, r.reply) : null) : "—");
      tbody.append(el("tr", { class: `row-${state}`, dataset: { party: addressee.party, state } },
        el("th", { scope: "row" }, addressee.party),
        el("td", {}, el("span", { class: `state state-${state}` }, page.states[state] || state)),
        el("td", {}, receipt(addressee.delivered)),
        el("td", {}, receipt(addressee.acknowledged)),
        clocksOf(addressee)));
    }
  }

  function showChain(detail) {
    const chain = document.getElementById("chain");
    for (const link of (detail.incident && detail.incident.chain) || []) {
      const current = link.ref === ref;
      chain.append(el("li", current ? { "aria-current": "true" } : {},
        current ? el("strong", {}, link.ref) : el("a", { href: `/notifications/${link.ref}` }, link.ref),
        " · ", Parley.strings.cap.msg_types[link.msg_type] || link.msg_type, " · ", Parley.timeElement(link.sent)));
    }
  }

  function showReferences(detail) {
    const list = document.getElementById("references");
    const body = detail.body || {};
    for (const link of body.references || []) {
      list.append(el("li", {}, el("a", { href: `/notifications/${link.ref}` }, link.ref), " ", el("code", { class: "hash" }, link.leaf_hash)));
    }
    for (const cap of body.cap_references || []) list.append(el("li", {}, el("code", {}, cap)));
    if (!list.children.length) list.append(el("li", { class: "empty" }, page.no_references));
  }

  /* The areas on an SVG map: vector on paper, and each area a path a test can find. */
  async function drawAreas(detail, info) {
    const map = await ParleyMap.create(document.getElementById("map"), {
      preferCanvas: false, zoomControl: false, dragging: false, scrollWheelZoom: false,
      doubleClickZoom: false, boxZoom: false, keyboard: false, touchZoom: false,
    });
    const drawn = L.featureGroup().addTo(map);
    const names = document.getElementById("area-names");
    const props = { severity: info && info.severity, status: detail.header.status, msg_type: detail.body.msg_type };
    for (const area of (info && info.areas) || []) {
      names.append(el("li", {}, area.desc));
      if (area.geometry) ParleyMap.areaLayer({ type: "Feature", geometry: { type: area.geometry.type, coordinates: numbers(area.geometry.coordinates) }, properties: props }).addTo(drawn);
      for (const circle of area.circles || []) {
        ParleyMap.areaLayer({ type: "Feature", geometry: { type: "Point", coordinates: numbers(circle.center) }, properties: { ...props, radius_km: Number(circle.radius_km) } }).addTo(drawn);
      }
    }
    if (drawn.getLayers().length) map.fitBounds(drawn.getBounds(), { maxZoom: 8, padding: [20, 20] });
    document.body.dataset.areasDrawn = String(drawn.getLayers().length);
  }

  document.getElementById("print").addEventListener("click", () => window.print());
  text("printed", Parley.time(Date.now()));
  let detail = null;
  try {
    detail = await api("GET", `/notifications/${encodeURIComponent(ref)}`);
  } catch (failure) {
    text("headline", failure.message);
    root.setAttribute("aria-busy", "false");
    return;
  }
  const info = showMessage(detail);
  showMatrix(detail);
  showChain(detail);
  showReferences(detail);
  if (detail.body) await drawAreas(detail, info);
  root.setAttribute("aria-busy", "false");
  document.body.dataset.ready = "true";
})();

/* Compose a notification, update one (?update=REF) or cancel one (?cancel=REF). The form only
   gathers what the officer gives: every check is the API's, and each RFC 9457 problem's `field`
   (body.details.magnitude, body.areas.0.circle, ...) is shown next to the input it names.
   Areas are drawn on the map with a few clicks (polygon corners, or a circle's centre) or
   pasted as GeoJSON; Leaflet draws them, no drawing plugin. A category's detail fields come from
   GET /categories?lang= with their labels and hints in the officer's language. */
"use strict";

(async () => {
  const { el, api, page } = Parley;
  const form = document.getElementById("compose");
  const params = new URLSearchParams(window.location.search);
  const updating = params.get("update");
  const cancelling = params.get("cancel");
  const idempotencyKey = `web-${window.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`}`;
  const $ = (id) => document.getElementById(id);
  let categories = {};
  const areas = []; // {desc, geometry?, circle?, layer}
  let map = null;
  let added = null;
  let sketch = null;
  let vertices = [];
  let centre = null;
  let prefilledDetails = {};

  /* Field errors ------------------------------------------------------------------------------ */

  const shown = []; // [{target, error, inputs}] of the errors on screen

  function describedBy(input, id, on) {
    const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== id);
    if (on) ids.push(id);
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  }

  function clearErrors() {
    for (const { error, inputs } of shown.splice(0)) {
      error.remove();
      for (const input of inputs) {
        input.removeAttribute("aria-invalid");
        describedBy(input, error.id, false);
      }
    }
    const general = $("form-error");
    general.hidden = true;
    general.textContent = "";
  }

  /* The element that answers for `field`: the longest data-field that is a prefix of it. */
  function targetOf(field) {
    let best = null;
    let length = -1;
    for (const node of document.querySelectorAll("[data-field]")) {
      if (node.closest("[hidden]") || node.disabled) continue;
      const name = node.dataset.field;
      if ((field === name || field.startsWith(`${name}.`)) && name.length > length) {
        best = node;
        length = name.length;
      }
    }
    return best;
  }

  function showError(field, message) {
    const target = field ? targetOf(field) : null;
    if (!target) {
      const general = $("form-error");
      general.textContent = message;
      general.hidden = false;
      return;
    }
    const id = `${target.id}-error`;
    const error = el("span", { id, class: "field-error", dataset: { for: field } }, message);
    const inputs = ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName)
      ? [target] : [...target.querySelectorAll("input, select, textarea")];
    if (!inputs.length) inputs.push(target);
    if (target.tagName === "FIELDSET" || target.tagName === "LI") target.append(error);
    else target.insertAdjacentElement("afterend", error);
    for (const input of inputs) {
      input.setAttribute("aria-invalid", "true");
      describedBy(input, id, true);
    }
    shown.push({ target, error, inputs });
    inputs[0].focus();
  }

  function problemOf(failure) {
    const problem = failure.problem || {};
    return { field: problem.field || null, message: problem.detail || problem.title || failure.message };
  }

  /* Categories and their details ----------------------------------------------------------------- */

  function detailInput(field) {
    const id = `d-${field.name}`;
    const attrs = { id, name: field.name, "aria-describedby": `${id}-hint`, dataset: { field: `body.details.${field.name}`, kind: field.kind } };
    if (field.required) attrs.required = true;
    if (field.kind === "enum" || field.kind === "bool") {
      const values = field.kind === "bool" ? [["yes", page.yes], ["no", page.no]] : field.choices.map((c) => [c, c]);
      return el("select", attrs, el("option", { value: "" }, page.choose), values.map(([value, name]) => el("option", { value }, name)));
    }
    if (["object", "objects", "area", "areas"].includes(field.kind)) return el("textarea", { ...attrs, rows: 3, spellcheck: "false" });
    if (field.kind === "decimal") attrs.inputmode = "decimal";
    if (field.kind === "int") attrs.inputmode = "numeric";
    return el("input", attrs);
  }

  function showDetails(code) {
    const box = $("details");
    box.replaceChildren();
    const category = categories[code];
    $("no-details").hidden = Boolean(category);
    $("two-person-note").hidden = !(category && category.two_person);
    if (!category) return;
    for (const field of category.details) {
      const label = field.doc.charAt(0).toUpperCase() + field.doc.slice(1);
      box.append(el("p", { class: "detail" },
        el("label", { for: `d-${field.name}` }, label, field.required ? el("span", { class: "req" }, ` ${page.required}`) : null),
        detailInput(field),
        el("span", { id: `d-${field.name}-hint`, class: "hint" }, field.typed_as)));
    }
  }

  function details() {
    const values = {};
    for (const input of $("details").querySelectorAll("[data-kind]")) {
      const value = input.value.trim();
      if (!value) continue;
      if (updating && prefilledDetails[input.name] === value) continue;
      values[input.name] = value;
    }
    return values;
  }

  /* Areas: drawn, pasted, listed ------------------------------------------------------------------- */

  const round = (x) => Math.round(x * 1e5) / 1e5;

  function drawState(text) { $("draw-state").textContent = text; }

  function areaInputError(text) {
    const error = $("area-input-error");
    error.textContent = text || "";
    error.hidden = !text;
  }

  function resetSketch() {
    vertices = [];
    centre = null;
    if (sketch) sketch.clearLayers();
    drawState("");
  }

  function drawSketch() {
    sketch.clearLayers();
    const latlngs = vertices.map(([lon, lat]) => [lat, lon]);
    const style = { color: "#102a43", weight: 2, dashArray: "4 4", interactive: false };
    for (const point of latlngs) L.circleMarker(point, { ...style, radius: 4 }).addTo(sketch);
    if (latlngs.length > 1) L.polyline(latlngs, style).addTo(sketch);
    if (centre) {
      const radius = Number($("area-radius").value) || 0;
      L.circleMarker([centre[1], centre[0]], { ...style, radius: 4 }).addTo(sketch);
      if (radius > 0) L.circle([centre[1], centre[0]], { ...style, radius: radius * 1000 }).addTo(sketch);
    }
  }

  function mode() { return document.querySelector('input[name="draw"]:checked').value; }

  function onMapClick(event) {
    const { lat, lng } = event.latlng.wrap();
    areaInputError("");
    if (mode() === "polygon") {
      centre = null;
      vertices.push([round(lng), round(lat)]);
      drawState(`${page.corners_set} ${vertices.length}`);
    } else {
      vertices = [];
      centre = [round(lng), round(lat)];
      drawState(`${page.centre_set} ${centre[1]}, ${centre[0]}`);
    }
    drawSketch();
    document.body.dataset.sketch = String(vertices.length + (centre ? 1 : 0));
  }

  function listAreas() {
    const list = $("areas");
    list.replaceChildren();
    areas.forEach((area, index) => {
      const kind = area.circle ? `${page.circle} ${area.circle.radius_km} ${page.km}`
        : area.drawn ? `${page.polygon}, ${area.drawn} ${page.corners}` : page.geojson;
      const remove = el("button", { type: "button", class: "quiet", "aria-label": `${page.remove}: ${area.desc}` }, page.remove);
      remove.addEventListener("click", () => {
        area.layer.remove();
        areas.splice(index, 1);
        listAreas();
      });
      list.append(el("li", { id: `area-${index}`, dataset: { field: `body.areas.${index}` }, tabindex: "-1" },
        el("span", { class: "area-desc" }, area.desc), " · ", el("span", { class: "note" }, kind), " ", remove));
    });
    $("areas-empty").hidden = areas.length > 0;
    document.body.dataset.areas = String(areas.length);
  }

  function addArea(area, layer) {
    layer.addTo(added);
    areas.push({ ...area, layer });
    listAreas();
    if (added.getLayers().length) map.fitBounds(added.getBounds(), { maxZoom: 8, padding: [20, 20] });
  }

  function areaDesc() {
    const desc = $("area-desc").value.trim();
    if (!desc) {
      areaInputError(page.need_desc);
      $("area-desc").focus();
    }
    return desc;
  }

  const areaStyle = { color: "#8e0000", weight: 2, fillOpacity: 0.2, interactive: false };

  function finishRing() {
    if (vertices.length < 3) { areaInputError(page.need_corners); return; }
    const desc = areaDesc();
    if (!desc) return;
    const ring = [...vertices, vertices[0]];
    const geometry = { type: "Polygon", coordinates: [ring] };
    addArea({ desc, geometry, drawn: vertices.length }, L.geoJSON(geometry, { style: () => areaStyle }));
    resetSketch();
    areaInputError("");
    $("area-desc").value = "";
  }

  function addCircle() {
    if (!centre) { areaInputError(page.need_centre); return; }
    const desc = areaDesc();
    if (!desc) return;
    const radius = $("area-radius").value.trim();
    const circle = { center: [String(centre[0]), String(centre[1])], radius_km: radius };
    const km = Number(radius) > 0 ? Number(radius) : 1;
    addArea({ desc, circle }, L.circle([centre[1], centre[0]], { ...areaStyle, radius: km * 1000 }));
    resetSketch();
    areaInputError("");
    $("area-desc").value = "";
  }

  function addPasted() {
    const text = $("area-geojson").value.trim();
    let geometry;
    try {
      geometry = JSON.parse(text);
    } catch (failure) {
      areaInputError(`${page.bad_json} ${failure.message}`);
      return;
    }
    const desc = areaDesc();
    if (!desc) return;
    let layer;
    try {
      layer = L.geoJSON(geometry, { style: () => areaStyle });
    } catch (failure) {
      layer = L.featureGroup(); // the API names what is wrong with it
    }
    addArea({ desc, geometry }, layer);
    areaInputError("");
    $("area-geojson").value = "";
    $("area-desc").value = "";
  }

  async function setUpMap() {
    map = await ParleyMap.create($("map"));
    // Zoom by the buttons beside the map: Leaflet's own control is text inside a container that
    // clips its (padded) canvas, which a layout check reads as clipped text.
    if (map.zoomControl) map.zoomControl.remove();
    $("zoom-in").addEventListener("click", () => map.zoomIn());
    $("zoom-out").addEventListener("click", () => map.zoomOut());
    added = L.featureGroup().addTo(map);
    sketch = L.featureGroup().addTo(map);
    map.on("click", onMapClick);
    $("area-radius").addEventListener("input", () => { if (centre) drawSketch(); });
    $("finish-ring").addEventListener("click", finishRing);
    $("add-circle").addEventListener("click", addCircle);
    $("clear-drawing").addEventListener("click", resetSketch);
    $("add-geojson").addEventListener("click", addPasted);
    for (const radio of document.querySelectorAll('input[name="draw"]')) radio.addEventListener("change", resetSketch);
  }

  /* The request --------------------------------------------------------------------------------------- */

  const value = (id) => $(id).value.trim();
  const optional = (target, name, text) => { if (text) target[name] = text; };

  function newNotification() {
    const body = {
      category: value("n-category"),
      status: (document.querySelector('input[name="status"]:checked') || {}).value,
      severity: value("n-severity"),
      urgency: value("n-urgency"),
      certainty: value("n-certainty"),
      headline: value("n-headline"),
      lang: value("n-lang"),
      areas: areas.map((a) => {
        const area = { desc: a.desc };
        if (a.geometry) area.geometry = a.geometry;
        if (a.circle) area.circle = a.circle;
        return area;
      }),
      details: details(),
    };
    optional(body, "description", value("n-description"));
    optional(body, "instruction", value("n-instruction"));
    optional(body, "expires", value("n-expires"));
    optional(body, "tlp", value("n-tlp"));
    if ($("n-audience-parties").checked) {
      body.audience = value("n-parties").split(/[\s,]+/).filter(Boolean).map((p) => p.toUpperCase());
    } else {
      body.audience = "ALL";
    }
    return body;
  }

  function revision() {
    const body = { lang: value("n-lang"), details: details() };
    for (const name of ["headline", "description", "instruction", "severity", "urgency", "certainty", "expires"]) {
      const input = $(`n-${name}`);
      if (input.value.trim() && input.value.trim() !== input.dataset.prefilled) body[name] = input.value.trim();
    }
    if (!Object.keys(body.details).length) delete body.details;
    return body;
  }

  async function submit(event) {
    event.preventDefault();
    clearErrors();
    const result = $("compose-result");
    result.textContent = page.sending;
    const button = $("submit");
    button.disabled = true;
    try {
      const answer = updating
        ? await api("POST", `/notifications/${encodeURIComponent(updating)}/update`, revision(), { "Idempotency-Key": idempotencyKey })
        : await api("POST", "/notifications", newNotification(), { "Idempotency-Key": idempotencyKey });
      if (answer && answer.state === "pending") {
        result.textContent = "";
        form.hidden = true;
        $("waiting").hidden = false;
        $("waiting-title").focus();
        document.body.dataset.pending = answer.id;
        return;
      }
      result.replaceChildren(`${page.created} `, el("a", { href: `/notifications/${answer.ref}` }, answer.ref));
      window.location.assign(`/notifications/${answer.ref}`);
    } catch (failure) {
      result.textContent = "";
      const { field, message } = problemOf(failure);
      showError(field, message);
      button.disabled = false;
    }
  }

  /* Update and cancel: what the notification says now ---------------------------------------------- */

  function pickInfo(body) {
    const infos = body.info || [];
    return infos.find((i) => (i.lang || "").toLowerCase().split("-")[0] === Parley.lang) || infos[0] || null;
  }

  function detailText(kind, stored) {
    if (stored === null || stored === undefined) return "";
    if (kind === "point" && Array.isArray(stored)) return `${stored[1]},${stored[0]}`;
    if (kind === "ms" && typeof stored === "number") return new Date(stored).toISOString();
    if (kind === "bool") return stored ? "yes" : "no";
    if (kind === "texts" && Array.isArray(stored)) return stored.join(", ");
    return typeof stored === "string" || typeof stored === "number" ? String(stored) : JSON.stringify(stored);
  }

  async function ours(ref) {
    const detail = await api("GET", `/notifications/${encodeURIComponent(ref)}`);
    if (detail.header.party !== document.body.dataset.party || !detail.body) throw new Error(page.not_ours);
    return detail;
  }

  function subject(prefix, ref, info) {
    const line = $("compose-subject");
    line.replaceChildren(`${prefix} `, el("a", { href: `/notifications/${ref}` }, ref), info && info.headline ? ` · ${info.headline}` : "");
    line.hidden = false;
  }

  async function prefill(ref) {
    const detail = await ours(ref);
    const body = detail.body;
    const info = pickInfo(body) || {};
    document.title = `${page.update_title} · ${document.title.split(" · ").slice(1).join(" · ")}`;
    $("compose-title").textContent = page.update_title;
    subject(page.update_of, ref, info);
    $("submit").textContent = page.send_update;
    $("n-category").value = body.category;
    $("n-category").disabled = true;
    for (const radio of document.querySelectorAll('input[name="status"]')) {
      radio.checked = radio.value === detail.header.status;
      radio.disabled = true;
    }
    $("fs-sharing").disabled = true;
    $("fs-sharing").hidden = true;
    $("fs-areas").disabled = true;
    document.querySelector(".compose-areas").hidden = true;
    form.classList.add("compose-update");
    const texts = { headline: info.headline, description: info.description, instruction: info.instruction, severity: info.severity, urgency: info.urgency, certainty: info.certainty };
    if (info.expires) texts.expires = new Date(info.expires).toISOString();
    for (const [name, text] of Object.entries(texts)) {
      const input = $(`n-${name}`);
      input.value = text || "";
      input.dataset.prefilled = text || "";
    }
    if (info.lang && [...$("n-lang").options].some((o) => o.value === info.lang)) $("n-lang").value = info.lang;
    showDetails(body.category);
    prefilledDetails = {};
    for (const input of $("details").querySelectorAll("[data-kind]")) {
      const text = detailText(input.dataset.kind, (body.details || {})[input.name]);
      input.value = text;
      prefilledDetails[input.name] = text;
    }
  }

  async function confirmCancel(ref) {
    const detail = await ours(ref);
    const info = pickInfo(detail.body) || {};
    $("compose-title").textContent = page.cancel_title;
    subject(page.cancel_of, ref, info);
    form.hidden = true;
    $("cancel-section").hidden = false;
    $("cancel-what").textContent = info.headline || ref;
    $("cancel-back").setAttribute("href", `/notifications/${ref}`);
    $("cancel-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors();
      $("cancel-confirm").disabled = true;
      try {
        const answer = await api("POST", `/notifications/${encodeURIComponent(ref)}/cancel`,
          { all_clear: $("c-all-clear").checked }, { "Idempotency-Key": idempotencyKey });
        window.location.assign(`/notifications/${answer.ref}`);
      } catch (failure) {
        showError(null, problemOf(failure).message);
        $("cancel-confirm").disabled = false;
      }
    });
  }

  /* Start ----------------------------------------------------------------------------------------------- */

  $("n-category").addEventListener("change", () => showDetails($("n-category").value));
  for (const radio of document.querySelectorAll('input[name="audience"]')) {
    radio.addEventListener("change", () => { $("parties-line").hidden = !$("n-audience-parties").checked; });
  }
  form.addEventListener("submit", submit);
  try {
    for (const category of await api("GET", `/categories?lang=${Parley.lang}`)) categories[category.code] = category;
    if (cancelling) await confirmCancel(cancelling);
    else if (updating) await prefill(updating);
    else {
      showDetails($("n-category").value);
      await setUpMap();
    }
  } catch (failure) {
    form.hidden = true;
    showError(null, failure.message);
  }
  document.body.dataset.ready = "true";
})();

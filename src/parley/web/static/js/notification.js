/* One notification: its message in the reader's language, its areas, its lifecycle, and the
   receipt matrix with live countdowns; an addressed officer acknowledges it in one click, and an
   officer of another party asks its author about it (POST /api/v1/inquiries). */
"use strict";

(async () => {
  const { el, api, page, strings } = Parley;
  const root = document.getElementById("notification");
  const ref = root.dataset.ref;
  const text = (id, value) => { document.getElementById(id).textContent = value || "—"; };
  let detail = null;
  let map = null;
  let drawnAreas = null;

  function pickInfo(body) {
    const infos = body.info || [];
    const wanted = Parley.lang;
    return infos.find((i) => (i.lang || "").toLowerCase().split("-")[0] === wanted)
      || infos.find((i) => (i.lang || "").toLowerCase().startsWith("en")) || infos[0] || null;
  }

  function numbers(coordinates) {
    return Array.isArray(coordinates) ? coordinates.map(numbers) : Number(coordinates);
  }

  async function drawAreas(info, severity) {
    if (!map) map = await ParleyMap.create(document.getElementById("map"));
    if (drawnAreas) drawnAreas.remove();
    drawnAreas = L.featureGroup().addTo(map);
    const names = document.getElementById("area-names");
    names.replaceChildren();
    for (const area of (info && info.areas) || []) {
      names.append(el("li", {}, area.desc));
      const props = { severity, status: detail.header.status, msg_type: detail.body.msg_type };
      if (area.geometry) ParleyMap.areaLayer({ type: "Feature", geometry: { type: area.geometry.type, coordinates: numbers(area.geometry.coordinates) }, properties: props }).addTo(drawnAreas);
      for (const circle of area.circles || []) {
        ParleyMap.areaLayer({ type: "Feature", geometry: { type: "Point", coordinates: numbers(circle.center) }, properties: { ...props, radius_km: Number(circle.radius_km) } }).addTo(drawnAreas);
      }
    }
    if (drawnAreas.getLayers().length) map.fitBounds(drawnAreas.getBounds(), { maxZoom: 8, padding: [20, 20] });
  }

  function showMessage() {
    const header = detail.header;
    const banner = document.getElementById("banner");
    banner.replaceChildren();
    const status = Parley.statusBanner(header.status);
    banner.hidden = !status;
    if (status) banner.append(status);
    text("sent", Parley.time(header.time));
    text("audience", Array.isArray(header.audience) ? `${header.audience.join(", ")} · TLP:${header.tlp}` : `${page.everyone} · TLP:${header.tlp}`);
    const withheld = document.getElementById("withheld");
    withheld.hidden = !detail.withheld;
    withheld.textContent = detail.withheld || "";
    if (!detail.body) { text("headline", strings.withheld); return null; }
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
    text("state", incident ? `${page.incident[incident.state] || incident.state} · ${Parley.strings.cap.msg_types[body.msg_type] || body.msg_type}` : Parley.strings.cap.msg_types[body.msg_type]);
    for (const id of ["description", "instruction", "headline"]) if (info) document.getElementById(id).lang = info.lang || "";
    return info;
  }

  function clockCell(clocks) {
    const cell = el("td", { class: "clocks" });
    for (const clock of clocks) {
      const name = page.clocks[clock.clock] || clock.clock;
      const line = el("span", { class: `clock clock-${clock.state}`, dataset: { due: clock.due || "", state: clock.state } }, name, ": ");
      const value = el("span", { class: "countdown" });
      line.append(value);
      cell.append(line, el("br"));
    }
    return cell;
  }

  function addresseeState(addressee) {
    const states = addressee.clocks.map((c) => c.state);
    if (states.includes("missed")) return "missed";
    if (states.includes("late")) return "late";
    return addressee.status;
  }

  function showMatrix() {
    const tbody = document.querySelector("#matrix tbody");
    tbody.replaceChildren();
    if (!detail.addressees.length) {
      tbody.append(el("tr", {}, el("td", { colspan: 5 }, page.no_addressees)));
      return;
    }
    for (const addressee of detail.addressees) {
      const state = addresseeState(addressee);
      const receipt = (r) => (r ? el("span", {}, Parley.timeElement(r.claimed), r.reply ? el("q", { class: "reply" }, r.reply) : null) : "—");
      tbody.append(el("tr", { class: `row-${state}`, dataset: { party: addressee.party, state } },
        el("th", { scope: "row" }, addressee.party),
        el("td", {}, el("span", { class: `state state-${state}` }, page.states[state] || state)),
        el("td", {}, receipt(addressee.delivered)),
        el("td", {}, receipt(addressee.acknowledged)),
        clockCell(addressee.clocks)));
    }
    tick();
  }

  const words = { due: page.due, missed: page.states.missed, late: page.states.late, late_by: page.states.late };

  /* Each pending clock counts down to its deadline, each second; past it, it reads missed. */
  function tick() {
    for (const line of document.querySelectorAll("#matrix .clock")) {
      const value = line.querySelector(".countdown");
      const state = line.dataset.state;
      const clock = state === "pending" ? Parley.clockText(state, Number(line.dataset.due), 0, words) : null;
      value.textContent = clock ? clock.text : page.states[state] || page[state] || state;
      line.classList.toggle("overdue", Boolean(clock) && clock.state === "missed");
    }
  }

  function showChain() {
    const chain = document.getElementById("chain");
    chain.replaceChildren();
    for (const link of (detail.incident && detail.incident.chain) || []) {
      const current = link.ref === ref;
      chain.append(el("li", current ? { "aria-current": "true" } : {},
        current ? el("strong", {}, link.ref) : el("a", { href: `/notifications/${link.ref}` }, link.ref),
        " · ", Parley.strings.cap.msg_types[link.msg_type] || link.msg_type, " · ", Parley.timeElement(link.sent)));
    }
  }

  function showAck() {
    const mine = document.body.dataset.party;
    const section = document.getElementById("ack-section");
    const canAck = (document.body.dataset.actions || "").split(" ").includes("acknowledge");
    const addressed = detail.header.party !== mine && detail.body !== null;
    const acked = detail.addressees.some((a) => a.party === mine && a.acknowledged);
    section.hidden = !(canAck && addressed);
    document.getElementById("ack-button").disabled = acked;
    if (acked) document.getElementById("ack-result").textContent = page.acked;
  }

  /* Another party's notification: the form to ask its author about it. */
  function showAsk() {
    const mayAsk = (document.body.dataset.actions || "").split(" ").includes("inquire");
    document.getElementById("ask-section").hidden = !(mayAsk && detail.header.party !== document.body.dataset.party);
  }

  const askFields = { "body.text": "ask-text", "body.reply_within": "ask-within" };

  function askProblem(id, message) {
    const error = document.getElementById(`${id}-error`);
    error.textContent = message;
    error.hidden = false;
    document.getElementById(id).setAttribute("aria-invalid", "true");
  }

  function clearAskProblems() {
    for (const id of Object.values(askFields)) {
      const error = document.getElementById(`${id}-error`);
      error.textContent = "";
      error.hidden = true;
      document.getElementById(id).removeAttribute("aria-invalid");
    }
    const general = document.getElementById("ask-error");
    general.textContent = "";
    general.hidden = true;
  }

  /* The API's problem names the field at fault (body.text, body.reply_within): shown beside it. */
  function showAskFailure(failure) {
    const problem = failure.problem || {};
    const message = problem.detail || problem.title || failure.message;
    const id = askFields[problem.field];
    if (id) {
      askProblem(id, message);
      document.getElementById(id).focus();
    } else {
      const general = document.getElementById("ask-error");
      general.textContent = message;
      general.hidden = false;
    }
  }

  async function ask(event) {
    event.preventDefault();
    clearAskProblems();
    const result = document.getElementById("ask-result");
    result.replaceChildren();
    const textInput = document.getElementById("ask-text");
    const within = document.getElementById("ask-within").value.trim();
    if (!textInput.value.trim()) {
      askProblem("ask-text", page.required);
      textInput.focus();
      return;
    }
    const body = { ref, text: textInput.value };
    if (within) body.reply_within = within;
    const button = document.getElementById("ask-button");
    button.disabled = true;
    try {
      const sent = await api("POST", "/inquiries", body, { "Idempotency-Key": `inquiry-${ref}-${crypto.randomUUID()}` });
      result.append(`${page.asked} ${sent.ref} · `, el("a", { href: "/inquiries" }, page.see_inquiries));
      textInput.value = "";
      document.getElementById("ask-within").value = "";
    } catch (failure) {
      showAskFailure(failure);
    } finally {
      button.disabled = false;
    }
  }

  /* This party's own active, latest notification: links to update or cancel it (/compose). */
  function showOwn() {
    const chain = (detail.incident && detail.incident.chain) || [];
    const latest = chain.length > 0 && chain[chain.length - 1].ref === ref && detail.incident.state === "active";
    const canNotify = (document.body.dataset.actions || "").split(" ").includes("notify");
    document.getElementById("own-actions").hidden = !(canNotify && latest && detail.header.party === document.body.dataset.party);
  }

  async function load() {
    try {
      detail = await api("GET", `/notifications/${encodeURIComponent(ref)}`);
    } catch (failure) {
      text("headline", failure.message);
      root.setAttribute("aria-busy", "false");
      return;
    }
    const info = showMessage();
    showMatrix();
    showChain();
    showAck();
    showAsk();
    showOwn();
    await drawAreas(info, info && info.severity);
    root.setAttribute("aria-busy", "false");
    document.body.dataset.ready = "true";
  }

  document.getElementById("ack-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reply = document.getElementById("ack-reply").value.trim();
    const result = document.getElementById("ack-result");
    try {
      await api("POST", `/entries/${encodeURIComponent(ref)}/acknowledgement`, reply ? { reply } : {},
        { "Idempotency-Key": `ack-${ref}-${Date.now()}` });
      result.textContent = page.acked;
      await load();
    } catch (failure) {
      result.textContent = failure.message;
    }
  });

  document.getElementById("ask-form").addEventListener("submit", ask);

  setInterval(tick, 1000);
  await load();
  Parley.stream({
    receipt: (event) => {
      const entry = event.entry && typeof event.entry === "object" ? event.entry.ref : event.entry;
      if (!entry || entry === ref) load(); // a receipt whose body is withheld names no entry
    },
    update: () => load(),
  });
})();

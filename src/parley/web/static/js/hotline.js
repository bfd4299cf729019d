/* The hotline with one other party: the conversation, each phrase in the reader's language beside
   the sender's signed rendering, with each message's deadline clocks counting down; a phrase
   picker (grouped by situation, searchable in the officer's language and English) with inputs for
   the phrase's typed parameters, free text, and send. New messages and receipts come through the
   live stream. Everything a peer wrote is set as text. */
"use strict";

(async () => {
  const { el, api, page, strings } = Parley;
  const HTML_LANG = { zh: "zh-Hans" };
  const actions = (document.body.dataset.actions || "").split(" ");
  const mine = document.body.dataset.party;
  const root = document.getElementById("hotline");
  const partySelect = document.getElementById("hl-party");
  const list = document.getElementById("messages");
  const form = document.getElementById("send-form");
  const search = document.getElementById("phrase-search");
  const picker = document.getElementById("phrase-picker");
  let peer = null;
  let book = null;
  let chosen = null; // the chosen phrase of the catalogue, or null
  let shown = new Set(); // refs on the page
  let loading = null;
  let again = false;
  let answering = null; // the ref of the message the form replies to, or null
  const REPLY_MAX = 500; // an acknowledgement's reply, as the API takes it

  const htmlLang = (lang) => HTML_LANG[lang] || lang || "";
  const langName = (lang) => page.langs[lang] || lang;
  const paramLabel = (name) => page.params[name] || name;
  const show = (node, text) => { node.textContent = text || ""; node.hidden = !text; };

  /* The other party ---------------------------------------------------------------------- */

  async function choosePeers() {
    const peers = (await api("GET", "/peers")).map((p) => p.party).filter((p) => p !== mine).sort();
    for (const party of peers) partySelect.append(el("option", { value: party }, party));
    const asked = new URLSearchParams(window.location.search).get("party");
    peer = peers.includes((asked || "").toUpperCase()) ? asked.toUpperCase() : peers[0] || null;
    if (peer) partySelect.value = peer;
    document.getElementById("no-peers").hidden = Boolean(peer);
    partySelect.disabled = !peer;
  }

  partySelect.addEventListener("change", () => {
    peer = partySelect.value;
    replyTo(null); // a reply stays between the same two parties
    const url = new URL(window.location.href);
    url.searchParams.set("party", peer);
    window.history.replaceState(null, "", url);
    shown = new Set();
    refresh();
  });

  /* The conversation --------------------------------------------------------------------- */

  function rendering(kind, label, rendered) {
    return el("div", { class: `hl-rendering hl-rendering-${kind}` },
      el("p", { class: "hl-rendering-label" }, label, " · ", el("span", { lang: htmlLang(rendered.lang) }, langName(rendered.lang))),
      el("p", { class: "hl-rendering-text", lang: htmlLang(rendered.lang) }, rendered.text));
  }

  function renderings(message) {
    if (!message.phrase) return null;
    const local = message.rendering
      ? rendering("local", page.yours, message.rendering)
      : el("div", { class: "hl-rendering hl-rendering-local" }, el("p", { class: "note" }, page.not_rendered));
    const signed = message.signed_rendering
      ? rendering("signed", `${page.signed} ${message.from}`, message.signed_rendering)
      : null;
    return el("div", { class: "hl-renderings" }, local, signed);
  }

  function clockLine(clock) {
    return el("li", { class: "hl-clock", dataset: { clock: clock.clock, state: clock.state, due: clock.due || "", lateBy: clock.late_by || "" } },
      el("span", { class: "hl-clock-name" }, page.clocks[clock.clock] || clock.clock), ": ",
      el("span", { class: "hl-timer" }));
  }

  function receiptLine(message) {
    const acked = message.answer.acknowledged;
    if (!acked) return null;
    return el("p", { class: "hl-acked" }, page.acknowledged_by, " ", message.answer.party,
      acked.officer ? ` (${acked.officer})` : "", " · ", Parley.timeElement(acked.claimed),
      acked.reply ? el("q", { class: "reply" }, acked.reply) : null);
  }

  /* Acknowledge in one click, with an optional short reply that travels in the receipt. */
  function ackForm(message) {
    const addressed = message.direction === "received" && message.body_held && !message.withheld;
    if (!addressed || !actions.includes("acknowledge") || message.answer.acknowledged) return null;
    const id = `hl-ack-reply-${message.ref.replace(":", "-")}`;
    const reply = el("input", { id, class: "hl-ack-reply", maxlength: REPLY_MAX, autocomplete: "off", dataset: { ref: message.ref } });
    const button = el("button", { type: "button", class: "hl-ack", dataset: { ref: message.ref } }, page.acknowledge);
    button.addEventListener("click", () => acknowledge(message.ref, button, reply));
    return el("span", { class: "hl-ack-form" }, el("label", { for: id }, page.ack_reply), " ", reply, " ", button);
  }

  /* Answer a message: the form then sends with reply_to naming it. */
  function replyButton(message) {
    if (!actions.includes("hotline")) return null;
    const button = el("button", { type: "button", class: "hl-reply quiet", dataset: { ref: message.ref } }, page.reply);
    button.addEventListener("click", () => replyTo(message.ref));
    return button;
  }

  function messageItem(message) {
    const meta = el("p", { class: "hl-meta" }, Parley.statusBanner(message.status),
      el("strong", { class: "hl-from" }, message.from), ` ${page.to} `, message.to, " · ",
      Parley.timeElement(message.time), " · ", el("span", { class: "hl-ref" }, message.ref),
      ` · TLP:${message.tlp}`);
    return el("li", { class: `hl-message hl-${message.direction}`, dataset: { ref: message.ref, direction: message.direction } },
      meta,
      message.withheld ? el("p", { class: "withheld" }, message.withheld) : null,
      message.in_reply_to ? el("p", { class: "note" }, `${page.in_reply_to} ${message.in_reply_to}`) : null,
      renderings(message),
      message.note ? el("p", { class: "note hl-note" }, message.note) : null,
      message.text ? el("div", { class: "hl-free" },
        el("p", { class: "hl-rendering-label" }, page.free_text),
        el("p", { class: "hl-free-text text" }, message.text)) : null,
      el("ul", { class: "hl-clocks" }, message.clocks.map(clockLine)),
      receiptLine(message),
      el("p", { class: "hl-ack-line" }, ackForm(message), " ", replyButton(message), el("span", { class: "hl-ack-result", role: "status" })));
  }

  const words = { due: page.due, missed: page.missed, late: page.late, late_by: `${page.late} ${page.by}` };

  /* Each clock counts down to its deadline each second, then reads acknowledged, late or missed. */
  function tick() {
    for (const line of list.querySelectorAll(".hl-clock")) {
      const timer = line.querySelector(".hl-timer");
      const { clock, state } = line.dataset;
      const shown = Parley.clockText(state, Number(line.dataset.due), Number(line.dataset.lateBy), words);
      const shownState = shown ? shown.state : state === "met" ? clock : state;
      const text = shown ? shown.text : (state === "met" && page.met[clock]) || state;
      if (timer.textContent !== text) timer.textContent = text;
      line.dataset.shown = shownState;
    }
  }

  async function load() {
    if (!peer) return;
    const answer = await api("GET", `/hotline/conversations/${encodeURIComponent(peer)}?lang=${Parley.lang}`);
    if (answer.peer !== peer) return; // the officer chose another party meanwhile
    document.getElementById("conversation-peer").textContent = `· ${peer}`;
    const active = document.activeElement;
    const focused = active && active.dataset ? active.dataset.ref : null;
    const focusedClass = active && active.classList.contains("hl-ack-reply") ? "hl-ack-reply" : "hl-ack";
    const typed = new Map([...list.querySelectorAll(".hl-ack-reply")].filter((i) => i.value).map((i) => [i.dataset.ref, i.value]));
    const fresh = answer.messages.filter((m) => shown.size && !shown.has(m.ref));
    list.replaceChildren(...answer.messages.map(messageItem));
    for (const input of list.querySelectorAll(".hl-ack-reply")) input.value = typed.get(input.dataset.ref) || "";
    document.getElementById("messages-empty").hidden = answer.messages.length > 0;
    shown = new Set(answer.messages.map((m) => m.ref));
    tick();
    const refocus = focused && list.querySelector(`.${focusedClass}[data-ref="${CSS.escape(focused)}"]`);
    if (refocus) refocus.focus();
    for (const m of fresh) list.querySelector(`[data-ref="${CSS.escape(m.ref)}"]`).classList.add("fresh");
    if (fresh.length) list.lastElementChild.scrollIntoView({ block: "nearest" });
  }

  /* One load at a time; what arrives meanwhile asks for one more. */
  async function refresh() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do {
        again = false;
        try { await load(); } catch (failure) { show(document.getElementById("hl-notice"), failure.message); }
      } while (again);
      loading = null;
    })();
    return loading;
  }

  async function acknowledge(ref, button, replyInput) {
    const result = button.closest(".hl-ack-line").querySelector(".hl-ack-result");
    const reply = replyInput.value.trim();
    button.disabled = true;
    try {
      await api("POST", `/entries/${encodeURIComponent(ref)}/acknowledgement`, reply ? { reply } : {},
        { "Idempotency-Key": `ack-${ref}-${crypto.randomUUID()}` });
      result.textContent = page.acked;
      await refresh();
    } catch (failure) {
      button.disabled = false;
      result.textContent = failure.message;
    }
  }

  function replyTo(ref) {
    answering = ref;
    const line = document.getElementById("hl-reply-to");
    document.getElementById("hl-reply-to-ref").textContent = ref || "";
    line.hidden = !ref;
    if (ref) search.focus();
  }

  /* The phrase picker ---------------------------------------------------------------------- */

  function template(text) {
    return text.replace(/\{([a-z0-9_]+)\}/g, (_m, name) => `[${paramLabel(name)}]`);
  }

  function phraseOption(phrase) {
    const id = `phrase-${phrase.code.replace(/\./g, "--")}`;
    const text = template(phrase.text);
    const english = template(phrase.texts.en);
    const haystack = [text, english, phrase.code].join("\n").toLocaleLowerCase();
    return el("div", { class: "phrase-option", dataset: { code: phrase.code, search: haystack } },
      el("input", { type: "radio", name: "phrase", id, value: phrase.code }),
      el("label", { for: id },
        el("span", { class: "phrase-text", lang: htmlLang(book.lang) }, text),
        book.lang !== "en" ? el("span", { class: "phrase-en", lang: "en" }, english) : null));
  }

  /* One closed <details> per situation; a search opens those with a phrase that matches. */
  function buildPicker() {
    const byGroup = new Map(book.groups.map((g) => [g.code, []]));
    for (const phrase of book.phrases) byGroup.get(phrase.group).push(phrase);
    for (const group of book.groups) {
      const phrasesOf = byGroup.get(group.code);
      if (!phrasesOf.length) continue;
      picker.append(el("details", { class: "phrase-group", dataset: { group: group.code } },
        el("summary", { lang: htmlLang(book.lang) }, group.title, " ", el("span", { class: "phrase-count" }, `(${phrasesOf.length})`)),
        el("div", { role: "group", "aria-label": group.title }, phrasesOf.map(phraseOption))));
    }
  }

  function filter() {
    const words = search.value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    let any = false;
    for (const group of picker.querySelectorAll(".phrase-group")) {
      let hits = 0;
      for (const option of group.querySelectorAll(".phrase-option")) {
        const hit = words.every((w) => option.dataset.search.includes(w));
        option.hidden = !hit;
        hits += hit ? 1 : 0;
      }
      group.hidden = hits === 0;
      group.open = words.length ? hits > 0 : Boolean(group.querySelector("input:checked"));
      group.querySelector(".phrase-count").textContent = `(${hits})`;
      any = any || hits > 0;
    }
    document.getElementById("phrase-none").hidden = any;
  }

  function paramField(param) {
    const id = `param-${param.name}`;
    const type = book.types[param.type] || { example: "" };
    const hint = `${page.types[param.type] || type.doc} (${page.example} ${type.example})`;
    return el("p", { class: "hl-param", dataset: { param: param.name } },
      el("label", { for: id }, paramLabel(param.name)),
      el("input", { id, name: id, autocomplete: "off", maxlength: 200, required: true, dataset: { param: param.name }, "aria-describedby": `${id}-hint ${id}-error` }),
      el("span", { id: `${id}-hint`, class: "note hl-hint" }, hint),
      el("span", { id: `${id}-error`, class: "error hl-field-error", hidden: true }));
  }

  function choose(code) {
    chosen = book.phrases.find((p) => p.code === code) || null;
    const fieldset = document.getElementById("params");
    fieldset.hidden = !chosen;
    document.getElementById("param-fields").replaceChildren(...(chosen ? chosen.params.map(paramField) : []));
    const chosenText = document.getElementById("phrase-chosen");
    chosenText.replaceChildren();
    if (chosen) chosenText.append(el("span", { lang: htmlLang(book.lang) }, template(chosen.text)));
    if (!chosen) for (const radio of picker.querySelectorAll("input[type=radio]")) radio.checked = false;
    clearErrors();
  }

  /* Sending -------------------------------------------------------------------------------- */

  function fieldError(id, message) {
    const error = document.getElementById(`${id}-error`);
    const input = document.getElementById(id);
    if (!error) return false;
    show(error, message);
    if (input) input.setAttribute("aria-invalid", "true");
    return true;
  }

  function clearErrors() {
    for (const error of form.querySelectorAll(".error")) show(error, "");
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  /* The problem's field names the input at fault: body.params.NAME, body.text, body.status, ... */
  function problemAt(failure) {
    const field = (failure.problem && failure.problem.field) || "";
    const param = field.match(/^body\.params\.([a-z][a-z0-9_]*)$/);
    const placed = (param && fieldError(`param-${param[1]}`, failure.message))
      || (field === "body.text" && fieldError("hl-text", failure.message))
      || (field === "body.status" && fieldError("hl-status", failure.message))
      || ((field === "body.phrase" || field === "body.params") && chosen && fieldError("phrase", failure.message));
    if (!placed) show(document.getElementById("send-error"), failure.message);
    const first = form.querySelector("[aria-invalid=true]");
    if (first) first.focus();
  }

  function wanted() {
    const text = document.getElementById("hl-text").value;
    const status = document.getElementById("hl-status").value;
    const params = {};
    let complete = true;
    const refuse = (id, message) => { fieldError(id, message); complete = false; };
    for (const input of form.querySelectorAll("#param-fields input")) {
      params[input.dataset.param] = input.value.trim();
      if (!params[input.dataset.param]) refuse(input.id, page.required);
    }
    if (!status) refuse("hl-status", page.choose_status);
    if (!chosen && !text.trim()) refuse("hl-text", page.phrase_or_text);
    const body = { to: peer, status };
    if (chosen) Object.assign(body, { phrase: chosen.code, params });
    if (text.trim()) body.text = text;
    if (answering) body.reply_to = answering;
    return complete ? body : null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const result = document.getElementById("send-result");
    result.textContent = "";
    const body = wanted();
    if (!body) { const first = form.querySelector("[aria-invalid=true]"); if (first) first.focus(); return; }
    const button = document.getElementById("send-button");
    button.disabled = true;
    try {
      const sent = await api("POST", "/hotline/messages", body, { "Idempotency-Key": `hotline-${crypto.randomUUID()}` });
      result.textContent = `${page.sent} ${sent.ref}`;
      document.getElementById("hl-text").value = "";
      for (const input of form.querySelectorAll("#param-fields input")) input.value = "";
      replyTo(null);
      await refresh();
    } catch (failure) {
      problemAt(failure);
    } finally {
      button.disabled = false;
    }
  });

  async function setUpSending() {
    const may = actions.includes("hotline");
    document.getElementById("compose-readonly").hidden = may;
    form.hidden = !may;
    if (!may) return;
    book = await api("GET", `/hotline/phrases?lang=${Parley.lang}`);
    buildPicker();
    search.addEventListener("input", filter);
    picker.addEventListener("change", (event) => { if (event.target.name === "phrase") choose(event.target.value); });
    document.getElementById("phrase-clear").addEventListener("click", () => { choose(null); search.focus(); });
    document.getElementById("hl-reply-clear").addEventListener("click", () => { replyTo(null); search.focus(); });
  }

  /* Live ----------------------------------------------------------------------------------- */

  function onHotline(event) {
    const parties = Array.isArray(event.audience) ? event.audience : [];
    if (peer && parties.includes(peer)) { refresh(); return; }
    const other = parties.find((p) => p !== mine);
    if (other) show(document.getElementById("hl-notice"), `${page.new_from} ${other}`);
  }

  function onReceipt(event) {
    const entry = event.entry && typeof event.entry === "object" ? event.entry.ref : event.entry;
    if (!entry || shown.has(entry)) refresh(); // a receipt whose body is withheld names no entry
  }

  try {
    await Promise.all([choosePeers(), setUpSending()]);
    await refresh();
  } finally {
    root.setAttribute("aria-busy", "false");
    document.body.dataset.ready = "true";
  }
  setInterval(tick, 1000);
  const source = Parley.stream({
    hotline: onHotline,
    receipt: onReceipt,
    "deadline.late": () => refresh(),
    "deadline.missed": () => refresh(),
  });
  source.addEventListener("open", () => refresh()); // what came before the stream (re)opened
})();

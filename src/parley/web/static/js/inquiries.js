/* Inquiries: those addressed to this party, each with the entry it asks about, the question, its
   reply clock counting down and a form to answer it; and those this party asked, waiting or
   answered. Everything comes from GET /api/v1/inquiries, judged by the node; new inquiries,
   replies and escalations arrive through the live stream. What a peer wrote is set as text. */
"use strict";

(async () => {
  const { el, api, page, strings } = Parley;
  const actions = (document.body.dataset.actions || "").split(" ");
  const mayAnswer = actions.includes("inquire");
  const root = document.getElementById("inquiries");
  const lists = { received: document.getElementById("received"), asked: document.getElementById("asked") };
  let shown = null; // refs on the page, once loaded
  let loading = null;
  let again = false;

  const show = (node, text) => { node.textContent = text || ""; node.hidden = !text; };

  /* The entry asked about: a link to a notification's page, else its reference. */
  function aboutLine(inquiry) {
    const about = inquiry.about;
    if (!about) return null;
    const ref = about.kind === "notification"
      ? el("a", { href: `/notifications/${encodeURIComponent(about.ref)}`, class: "inq-about-ref" }, about.ref)
      : el("span", { class: "inq-about-ref" }, about.ref);
    return el("p", { class: "inq-about" }, el("span", { class: "inq-label" }, page.about), " ", ref,
      about.summary ? [" · ", el("span", { class: "inq-about-summary" }, about.summary)] : null,
      about.kind === null ? [" · ", el("span", { class: "note" }, page.not_held)] : null,
      about.matches === false ? [" · ", el("span", { class: "error" }, page.mismatch)] : null);
  }

  function clockLine(inquiry) {
    const clock = inquiry.clock;
    const data = clock
      ? { state: clock.state, due: clock.due || "", lateBy: clock.late_by || "" }
      : { state: "none", due: "", lateBy: "" };
    return el("p", { class: "inq-clock", dataset: data },
      el("span", { class: "inq-label" }, page.clock), ": ", el("span", { class: "inq-timer" }));
  }

  function replyItem(inquiry, reply) {
    return el("li", { class: "inq-reply", dataset: { ref: reply.ref } },
      el("p", { class: "inq-meta" }, `${page.answer_from} ${inquiry.addressee}`, " · ",
        Parley.timeElement(reply.claimed), " · ", el("span", { class: "inq-ref" }, reply.ref)),
      reply.text !== null
        ? el("p", { class: "text inq-answer" }, reply.text)
        : el("p", { class: "withheld" }, reply.withheld || strings.withheld));
  }

  function answerForm(inquiry) {
    const answerable = inquiry.direction === "received" && inquiry.question !== null && !inquiry.replies.length;
    if (!answerable || !mayAnswer) return null;
    const id = `answer-${inquiry.ref.replace(":", "-")}`;
    const form = el("form", { class: "inq-answer-form", novalidate: true, dataset: { ref: inquiry.ref } },
      el("label", { for: id }, page.your_answer),
      el("textarea", { id, name: "text", rows: 2, maxlength: 20000, required: true, "aria-describedby": `${id}-error`, dataset: { ref: inquiry.ref } }),
      el("span", { id: `${id}-error`, class: "field-error", hidden: true }),
      el("p", {}, el("button", { type: "submit" }, page.send_answer), " ", el("span", { class: "inq-result", role: "status" })));
    form.addEventListener("submit", (event) => { event.preventDefault(); answer(inquiry.ref, form); });
    return form;
  }

  function inquiryItem(inquiry) {
    const meta = el("p", { class: "inq-meta" }, Parley.statusBanner(inquiry.status),
      `${page.from} `, el("strong", {}, inquiry.asker), ` ${page.to} `, el("strong", {}, inquiry.addressee), " · ",
      Parley.timeElement(inquiry.time), " · ", el("span", { class: "inq-ref" }, inquiry.ref), ` · TLP:${inquiry.tlp}`);
    const question = inquiry.question !== null
      ? el("p", { class: "text inq-question" }, inquiry.question)
      : el("p", { class: "withheld" }, inquiry.withheld || strings.withheld);
    const waiting = inquiry.direction === "asked" && !inquiry.replies.length
      ? el("p", { class: "note inq-waiting" }, page.waiting) : null;
    const answered = inquiry.replies.length > 0;
    return el("li", { class: `inq inq-${inquiry.direction}${answered ? " inq-answered" : ""}`, dataset: { ref: inquiry.ref, direction: inquiry.direction } },
      meta, aboutLine(inquiry),
      el("p", { class: "visually-hidden" }, page.question), question,
      clockLine(inquiry), waiting,
      answered ? el("ul", { class: "inq-replies" }, inquiry.replies.map((r) => replyItem(inquiry, r))) : null,
      answerForm(inquiry));
  }

  /* Each clock counts down to its deadline each second; then it reads missed (overdue by), or
     answered, or answered late. */
  function tick() {
    for (const line of root.querySelectorAll(".inq-clock")) {
      const timer = line.querySelector(".inq-timer");
      const { state } = line.dataset;
      const clock = Parley.clockText(state, Number(line.dataset.due), Number(line.dataset.lateBy), page);
      const shownState = clock ? clock.state : state;
      const text = clock ? clock.text : state === "met" ? page.answered : page.no_clock;
      if (timer.textContent !== text) timer.textContent = text;
      line.dataset.shown = shownState;
    }
  }

  /* What the officer is typing survives a reload of the lists. */
  function drafts() {
    const kept = new Map();
    for (const area of root.querySelectorAll(".inq-answer-form textarea")) {
      if (area.value) kept.set(area.dataset.ref, area.value);
    }
    const active = document.activeElement;
    const focused = active && root.contains(active) && active.dataset ? active.dataset.ref : null;
    return { kept, focused };
  }

  function restore({ kept, focused }) {
    for (const [ref, value] of kept) {
      const area = root.querySelector(`.inq-answer-form textarea[data-ref="${CSS.escape(ref)}"]`);
      if (area) area.value = value;
    }
    const target = focused && root.querySelector(`.inq-answer-form textarea[data-ref="${CSS.escape(focused)}"]`);
    if (target) target.focus();
  }

  async function load() {
    const answer = await api("GET", "/inquiries?limit=100");
    const saved = drafts();
    const fresh = [];
    for (const direction of ["received", "asked"]) {
      const items = answer[direction];
      lists[direction].replaceChildren(...items.map(inquiryItem));
      document.getElementById(`${direction}-empty`).hidden = items.length > 0;
      if (shown) fresh.push(...items.filter((i) => !shown.has(i.ref)).map((i) => i.ref));
    }
    shown = new Set([...answer.received, ...answer.asked].map((i) => i.ref));
    restore(saved);
    for (const ref of fresh) {
      const item = root.querySelector(`.inq[data-ref="${CSS.escape(ref)}"]`);
      if (item) item.classList.add("fresh");
    }
    document.getElementById("answer-readonly").hidden = mayAnswer || !answer.received.length;
    tick();
  }

  /* One load at a time; what arrives meanwhile asks for one more. */
  async function refresh() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do {
        again = false;
        try {
          await load();
          show(document.getElementById("inq-notice"), "");
        } catch (failure) {
          show(document.getElementById("inq-notice"), failure.message);
        }
      } while (again);
      loading = null;
    })();
    return loading;
  }

  async function answer(ref, form) {
    const area = form.querySelector("textarea");
    const error = form.querySelector(".field-error");
    const result = form.querySelector(".inq-result");
    const button = form.querySelector("button");
    show(error, "");
    area.removeAttribute("aria-invalid");
    if (!area.value.trim()) {
      show(error, page.required);
      area.setAttribute("aria-invalid", "true");
      area.focus();
      return;
    }
    button.disabled = true;
    try {
      const sent = await api("POST", `/inquiries/${encodeURIComponent(ref)}/reply`, { text: area.value },
        { "Idempotency-Key": `reply-${ref}-${crypto.randomUUID()}` });
      result.textContent = `${page.answer_sent} ${sent.ref}`;
      area.value = "";
      await refresh();
    } catch (failure) {
      const problem = failure.problem || {};
      show(error, problem.detail || problem.title || failure.message);
      area.setAttribute("aria-invalid", "true");
      area.focus();
      button.disabled = false;
    }
  }

  /* An entry event names its audience: an inquiry or a reply concerns this page when this
     party is in it. */
  function concerns(event) {
    const mine = document.body.dataset.party;
    return event.audience === "ALL" || (Array.isArray(event.audience) && event.audience.includes(mine));
  }

  try {
    await refresh();
  } finally {
    root.setAttribute("aria-busy", "false");
    document.body.dataset.ready = "true";
  }
  setInterval(tick, 1000);
  const source = Parley.stream({
    inquiry: (event) => { if (concerns(event)) refresh(); },
    reply: (event) => { if (concerns(event)) refresh(); },
    "deadline.late": () => refresh(),
    "deadline.missed": () => refresh(),
  });
  source.addEventListener("open", () => refresh()); // what came before the stream (re)opened
})();

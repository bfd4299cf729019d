/* Pending releases: what waits for a second officer. Another officer releases one; the officer
   who prepared it withdraws it, or releases it alone (break-glass) once a reason is given. The
   API decides who may do what; the buttons shown are those it would accept. */
"use strict";

(async () => {
  const { el, api, page } = Parley;
  const list = document.getElementById("pending-list");
  const result = document.getElementById("pending-result");
  const failed = document.getElementById("pending-error");
  const actions = (document.body.dataset.actions || "").split(" ");
  const can = (action) => actions.includes(action);
  const reasons = {}; // what was typed as a reason, kept across refreshes
  let me = { officer: null, role: null };
  const MIN_REASON = 10; // POST /pending/{id}/break-glass: 10 characters or more

  function say(text, ref) {
    failed.hidden = true;
    result.replaceChildren(text, ref ? " " : "", ref ? el("a", { href: `/notifications/${ref}` }, ref) : "");
  }

  function fail(failure) {
    failed.textContent = (failure.problem && failure.problem.detail) || failure.message;
    failed.hidden = false;
  }

  async function act(path, body, done) {
    try {
      const answer = await api("POST", path, body);
      done(answer);
    } catch (failure) {
      fail(failure);
    }
    await load();
  }

  function breakGlass(item) {
    const id = `reason-${item.id}`;
    const input = el("input", { id, name: "reason", maxlength: 4000, value: reasons[item.id] || "" });
    const button = el("button", { type: "submit", class: "danger" }, page.break_glass);
    const ready = () => { button.disabled = input.value.trim().length < MIN_REASON; };
    input.addEventListener("input", () => { reasons[item.id] = input.value; ready(); });
    ready();
    const form = el("form", { class: "break-glass" }, el("label", { for: id }, page.reason), input, " ", button);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act(`/pending/${item.id}/break-glass`, { reason: input.value.trim() }, (answer) => {
        delete reasons[item.id];
        say(page.released, answer.ref);
      });
    });
    return form;
  }

  function row(item) {
    const fields = item.fields || {};
    const mine = item.prepared_by === me.officer;
    const buttons = el("p", { class: "pending-actions" });
    if (can("release") && !mine) {
      const release = el("button", { type: "button" }, page.release);
      release.addEventListener("click", () => act(`/pending/${item.id}/release`, undefined, (answer) => say(page.released, answer.ref)));
      buttons.append(release, " ");
    }
    if (can("notify") && (mine || me.role === "admin")) {
      const withdraw = el("button", { type: "button", class: "quiet" }, page.withdraw);
      withdraw.addEventListener("click", () => act(`/pending/${item.id}/withdraw`, undefined, () => say(`${page.withdrawn} ${item.headline || item.id}`)));
      buttons.append(withdraw);
    }
    const audience = Array.isArray(item.audience) ? item.audience.join(", ") : page.everyone;
    return el("li", { class: `item ${Parley.severityClass(fields.severity)}`, dataset: { id: item.id } },
      Parley.statusBanner(item.status),
      el("p", { class: "item-head" }, el("strong", {}, item.headline || item.withheld || item.id)),
      el("p", { class: "item-meta" },
        page.categories[item.category] || item.category, " · ",
        fields.severity ? `${Parley.strings.cap.severities[fields.severity] || fields.severity} · ` : "",
        `${audience} · TLP:${item.tlp} · ${page.prepared_by} ${item.prepared_by} (${item.prepared_role}) · `,
        Parley.timeElement(item.created)),
      mine ? el("p", { class: "note" }, page.yours) : null,
      buttons.childNodes.length ? buttons : null,
      mine && can("break-glass") ? breakGlass(item) : null);
  }

  async function load() {
    try {
      const items = await api("GET", "/pending");
      const focused = document.activeElement && document.activeElement.id;
      list.replaceChildren(...items.map(row));
      if (focused && focused.startsWith("reason-") && document.getElementById(focused)) document.getElementById(focused).focus();
      document.getElementById("pending-empty").hidden = items.length > 0;
      document.body.dataset.pendingCount = String(items.length);
    } catch (failure) {
      fail(failure);
    }
  }

  me = await api("GET", "/me");
  await load();
  document.body.dataset.ready = "true";
  Parley.stream({ notification: load, "release.break-glass": load });
})();

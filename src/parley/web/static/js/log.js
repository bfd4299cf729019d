/* This node's own log: its size, root and latest checkpoint with the cosignatures held on it
   (/api/v1/log), its entries' headers newest first, a page at a time (/api/v1/log/entries),
   and "Verify now" (POST /api/v1/log/verify), which reads the whole stored log back. */
"use strict";

(async () => {
  const { el, api, page, strings } = Parley;
  const root = document.getElementById("log-page");
  const error = document.getElementById("log-error");
  const text = (id, value) => { document.getElementById(id).textContent = value; };
  const PAGE = 50;
  let state = null;

  function showState() {
    text("log-origin", state.origin);
    text("log-size", `${state.size} ${page.entries}`);
    text("log-root", state.root || page.none);
    document.getElementById("log-last").replaceChildren(state.last_time === null ? page.none : Parley.timeElement(state.last_time));
    text("log-checkpoint", state.checkpoint === null ? page.none : `${page.size} ${state.checkpoint}`);
    const cosignatures = document.getElementById("log-cosignatures");
    cosignatures.replaceChildren(...state.cosignatures.map((c) => el("li", {}, el("code", {}, c.witness), " · ", Parley.timeElement(c.time))));
    if (!state.cosignatures.length) cosignatures.append(el("li", { class: "empty" }, page.no_cosignatures));
    text("log-note", state.note || page.none);
  }

  function audience(entry) {
    const to = Array.isArray(entry.audience) ? entry.audience.join(", ") : page.everyone;
    return `${to} · TLP:${entry.tlp}`;
  }

  function entryRow(entry) {
    const ref = entry.kind === "notification"
      ? el("a", { href: `/notifications/${encodeURIComponent(entry.ref)}` }, entry.ref)
      : entry.ref;
    return el("tr", { dataset: { ref: entry.ref, seq: entry.seq } },
      el("th", { scope: "row" }, ref),
      el("td", {}, Parley.timeElement(entry.time)),
      el("td", {}, entry.kind),
      el("td", {}, Parley.statusBanner(entry.status) || page.Actual),
      el("td", {}, audience(entry)),
      el("td", {}, el("code", { class: "hash", title: entry.leaf_hash }, entry.leaf_hash.slice(0, 16))));
  }

  async function showEntries(before) {
    const query = before === null ? `?limit=${PAGE}` : `?limit=${PAGE}&before=${before}`;
    const shown = await api("GET", `/log/entries${query}`);
    const tbody = document.querySelector("#log-entries tbody");
    tbody.replaceChildren(...shown.entries.map(entryRow));
    if (!shown.entries.length) tbody.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, page.empty)));
    const older = document.getElementById("older");
    older.hidden = shown.next === null;
    older.dataset.before = shown.next === null ? "" : String(shown.next);
    document.getElementById("newest").hidden = before === null;
  }

  async function load() {
    try {
      state = await api("GET", "/log");
      showState();
      await showEntries(null);
      error.hidden = true;
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
    root.setAttribute("aria-busy", "false");
    document.body.dataset.ready = "true";
  }

  async function turn(before) {
    try {
      await showEntries(before);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  }

  document.getElementById("older").addEventListener("click", (event) => {
    turn(Number(event.currentTarget.dataset.before));
  });
  document.getElementById("newest").addEventListener("click", () => turn(null));

  function verdict(report) {
    if (!report.ok) {
      return el("p", { class: "verify-failed error", dataset: { ok: "false" } }, `${page.failed}: `, report.error || strings.error);
    }
    const same = state && report.size === state.size && report.root === state.root;
    return el("div", { class: "verify-ok", dataset: { ok: "true", size: report.size } },
      el("p", {}, el("strong", {}, `${page.verified}: `), `${page.size} `, el("span", { class: "verified-size" }, String(report.size)),
        ` · ${report.checkpoints} ${page.checkpoints} · ${report.bodies} ${page.bodies}`),
      el("p", {}, `${page.root} `, el("code", { class: "hash verified-root" }, report.root)),
      el("p", { class: "note" }, same ? page.matches : page.differs));
  }

  const button = document.getElementById("verify-button");
  button.addEventListener("click", async () => {
    const section = document.getElementById("verify-section");
    const busy = document.getElementById("verify-busy");
    const result = document.getElementById("verify-result");
    button.disabled = true;
    busy.hidden = false;
    section.setAttribute("aria-busy", "true");
    result.replaceChildren();
    try {
      result.append(verdict(await api("POST", "/log/verify")));
    } catch (failure) {
      result.append(el("p", { class: "verify-failed error", dataset: { ok: "false" } }, `${page.failed}: `, failure.message));
    } finally {
      button.disabled = false;
      busy.hidden = true;
      section.setAttribute("aria-busy", "false");
    }
  });

  await load();
})();

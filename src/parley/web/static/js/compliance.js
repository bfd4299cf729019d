/* The compliance scoreboard of /api/v1/compliance (docs/protocol.md §12): per addressee party
   and clock, the answers, median and 95th percentile times, met, late and missed, with the
   scope the figures were computed over. The node computes them; this page only shows them. */
"use strict";

(async () => {
  const { el, api, page } = Parley;
  const root = document.getElementById("compliance-page");
  const publicBox = document.getElementById("c-public");
  const error = document.getElementById("compliance-error");

  const ms = (value) => (value === null || value === undefined ? "—" : Parley.duration(value));
  const number = (value) => el("td", { class: "number" }, String(value));

  function showScope(board) {
    const scope = document.getElementById("scope");
    const forced = board.scope === "public" && !publicBox.checked;
    scope.replaceChildren(el("span", {},
      el("strong", {}, board.scope === "public" ? page.public : page.members),
      forced ? [" ", page.public_only] : null,
      el("br"),
      `${page.as_of} `, Parley.timeElement(board.as_of), ` · ${page.quorum} ${board.witness_quorum}`));
    if (forced) publicBox.checked = true;
    publicBox.disabled = forced;
  }

  function showTable(board) {
    const tbody = document.querySelector("#scoreboard tbody");
    tbody.replaceChildren();
    const parties = Object.entries(board.parties);
    if (!parties.length) {
      tbody.append(el("tr", {}, el("td", { colspan: 8, class: "empty" }, page.none)));
      return;
    }
    for (const [party, clocks] of parties) {
      for (const [clock, f] of Object.entries(clocks)) {
        tbody.append(el("tr", { dataset: { party, clock } },
          el("th", { scope: "row" }, party),
          el("td", {}, page.clocks[clock] || clock),
          number(f.answers),
          el("td", { class: "number median" }, ms(f.median_ms)),
          el("td", { class: "number p95" }, ms(f.p95_ms)),
          number(f.met),
          el("td", { class: f.late ? "number late" : "number" }, String(f.late)),
          el("td", { class: f.missed ? "number missed" : "number" }, String(f.missed))));
      }
    }
  }

  async function load() {
    try {
      const board = await api("GET", publicBox.checked ? "/compliance?public=true" : "/compliance");
      error.hidden = true;
      showScope(board);
      showTable(board);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
    root.setAttribute("aria-busy", "false");
    document.body.dataset.ready = "true";
  }

  publicBox.addEventListener("change", load);
  document.getElementById("compliance-form").addEventListener("submit", (event) => event.preventDefault());
  await load();
})();

/* The pinned peers: pulling, last checkpoint and the log's own time at it, cosignatures both
   ways, held and failing peers, and the equivocation evidence this node holds, from
   /api/v1/peers and /api/v1/health. An administrator releases a held peer here. Refreshed on the stream's peer events and every
   10 s, one load at a time. Every string from a peer (its errors, why it is held) is text. */
"use strict";

(() => {
  const { el, api, page, strings } = Parley;
  const root = document.getElementById("peers-page");
  const list = document.getElementById("peer-list");
  const error = document.getElementById("peers-error");
  const mayAdminister = (document.body.dataset.actions || "").split(" ").includes("administer");
  const REFRESH_MS = 10_000;
  let loading = null;
  let again = false;

  const fact = (name, ...value) => [el("dt", {}, name), el("dd", {}, ...value)];
  const ago = (ms) => `${Parley.duration(ms)} ${strings.ago}`;

  /* The checkpoint's size and the log's own time at it (its time line, or its last entry's),
     never the time this node pulled it: that is "last successful pull". */
  function checkpointSeen(peer) {
    const at = peer.checkpoint_time === null
      ? el("span", { class: "checkpoint-time checkpoint-time-unknown" }, page.checkpoint_time_unknown)
      : el("span", { class: "checkpoint-time" }, Parley.timeElement(peer.checkpoint_time));
    return el("span", { class: "checkpoint" }, `${page.size} ${peer.checkpoint} · `, at);
  }

  function pulling(peer) {
    const lag = peer.lag === null ? "—" : `${peer.lag} ${page.entries}`;
    return [
      ...fact(page.pull, `${peer.synced} ${page.synced_of} ${peer.checkpoint === null ? "—" : peer.checkpoint}`),
      ...fact(page.lag, el("span", { class: peer.lag ? "lag lag-behind" : "lag" }, lag)),
      ...fact(page.checkpoint, peer.checkpoint === null ? page.no_checkpoint : checkpointSeen(peer)),
      ...fact(page.last_success, peer.last_success === null ? page.never : Parley.timeElement(peer.last_success)),
      ...(peer.pending_bodies ? fact(page.pending_bodies, String(peer.pending_bodies)) : []),
    ];
  }

  function witnessing(peer) {
    const cosigned = peer.cosigned === null ? page.not_cosigned
      : el("span", { class: "cosignature" },
        `${page.cosigned_at} ${peer.cosigned_size} · `, el("span", { class: "cosignature-age" }, ago(peer.cosignature_age)),
        " · ", Parley.timeElement(peer.cosigned));
    const witnessed = peer.witnessed === null ? page.not_cosigned
      : el("span", {}, `${page.cosigned_at} ${peer.witnessed_size} · `, Parley.timeElement(peer.witnessed));
    return [...fact(page.cosigned, cosigned), ...fact(page.witnessed, witnessed)];
  }

  function trouble(peer) {
    const held = peer.held ? el("span", { class: "held-reason" }, peer.held) : page.not_held;
    const failing = peer.failures
      ? el("span", { class: "failing" }, `${peer.failures} ${page.failures}`,
        peer.last_error ? el("span", { class: "last-error" }, peer.last_error) : null,
        el("span", { class: "next-attempt" }, `${page.next_attempt}: `, Parley.timeElement(peer.next_attempt)))
      : page.not_failing;
    return [...fact(page.held, held), ...fact(page.failing, failing)];
  }

  function releaseButton(peer) {
    if (!mayAdminister || !peer.held) return null;
    const result = document.getElementById("peers-result");
    const button = el("button", { type: "button", class: "release", "aria-label": `${page.release_label} ${peer.party}` }, page.release);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api("POST", `/peers/${encodeURIComponent(peer.party)}/release`);
        result.textContent = page.released;
        await load();
      } catch (failure) {
        result.textContent = failure.message;
        button.disabled = false;
      }
    });
    return el("p", { class: "peer-actions" }, button);
  }

  function peerCard(peer, caught) {
    const state = peer.health;
    const title = `peer-${peer.party}`;
    return el("li", { class: `peer peer-${state}`, dataset: { party: peer.party, health: state } },
      el("h2", { id: title }, peer.party, " ",
        el("span", { class: `state state-${state}` }, page.health[state] || state),
        caught.length ? el("span", { class: "state state-equivocated" }, page.equivocated) : null),
      el("p", { class: "peer-url" }, peer.url),
      el("dl", { class: "facts" },
        ...pulling(peer), ...witnessing(peer), ...trouble(peer),
        ...fact(page.identity, el("code", {}, peer.fingerprint))),
      releaseButton(peer));
  }

  function evidenceItem(alert) {
    const links = alert.entry
      ? [el("a", { href: `/api/v1/entries/${encodeURIComponent(alert.entry)}`, download: `${alert.entry.replace(":", "-")}-evidence-entry.json`, class: "evidence-entry" }, `${page.evidence_entry} ${alert.entry}`),
        " · ",
        el("a", { href: `/api/v1/evidence/${encodeURIComponent(alert.entry)}`, download: `${alert.entry.replace(":", "-")}-evidence.json` }, page.evidence_bundle)]
      : [page.no_evidence_entry];
    return el("li", { dataset: { party: alert.party } },
      el("strong", {}, alert.party), ` ${page.equivocated}`,
      alert.detected ? [` · ${page.detected} `, Parley.timeElement(alert.detected)] : null,
      el("span", { class: "evidence-detail" }, alert.detail), el("span", { class: "evidence-links" }, ...links));
  }

  function show(peers, alerts) {
    const caught = alerts.filter((a) => a.type === "equivocation");
    const section = document.getElementById("equivocations");
    section.hidden = !caught.length;
    document.getElementById("equivocation-list").replaceChildren(...caught.map(evidenceItem));
    list.replaceChildren(...peers.map((p) => peerCard(p, caught.filter((a) => a.party === p.party))));
    if (!peers.length) list.append(el("li", { class: "empty" }, page.no_peers));
    document.getElementById("peers-updated").replaceChildren(`${page.updated} `, Parley.timeElement(Date.now()));
  }

  async function fetchAndShow() {
    try {
      const [peers, health] = await Promise.all([api("GET", "/peers"), api("GET", "/health")]);
      error.hidden = true;
      show(peers, health.alerts);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
    root.setAttribute("aria-busy", "false");
    document.body.dataset.ready = "true";
  }

  /* One load at a time: a request while one runs asks for one more after it, never a pile. */
  async function load() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do { again = false; await fetchAndShow(); } while (again);
    })();
    try { await loading; } finally { loading = null; }
    return undefined;
  }

  load();
  setInterval(load, REFRESH_MS);
  Parley.stream({
    "peer.held": () => load(),
    "peer.failing": () => load(),
    equivocation: () => load(),
    observation: () => load(),
  });
})();

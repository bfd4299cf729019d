/* The alarm, on every page of a logged-in officer. It rings for what needs a person now: an
   escalation (deadline.missed, deadline.late), a hotline message or an inquiry another party
   addressed to this party, or a new notification from another party at or above the officer's alarm_severity.
   Only Actual traffic rings, and Exercise and Test too when the officer's alarm_exercise is on;
   Draft never does. Only what the stream brings after the page opened rings: the stream starts
   at the newest event, so the history raises nothing.

   Ringing is a desktop notification (once the officer allowed them with the header's button:
   browsers ask only from a click) and, when the officer's `sound` is on, a beep pattern from the
   Web Audio API every two seconds, until the officer acknowledges the alarm in the banner. That
   acknowledgement belongs to this page: it sends no receipt. The body's data-alarm-sound says
   what the sound does (playing; blocked by the browser until a click or a key on the page; off;
   stopped) and data-alarm-beeps how many tones were started.

   The settings are read when the page loads, again when the settings page saves them in another
   tab or window of this browser (Parley.onSettingsSaved), and whenever this window gets the
   focus back: an officer who turns the sound off or raises the threshold there is obeyed here
   without a reload, a sound already beeping included. data-alarm-sound-setting and
   data-alarm-severity say what the page holds. */
"use strict";

(() => {
  const root = document.getElementById("alarm");
  const list = document.getElementById("alarm-items");
  const stringsNode = document.getElementById("alarm-strings");
  if (!root || !list || !stringsNode) return; // a page without an officer
  const words = JSON.parse(stringsNode.textContent);
  const { el, api } = Parley;
  const body = document.body;
  const party = body.dataset.party;
  const note = document.getElementById("alarm-sound-note");
  const permission = document.getElementById("alarm-permission");
  const SEVERITIES = ["Minor", "Moderate", "Severe", "Extreme"];
  const DEFAULTS = { sound: true, alarm_severity: "Severe", alarm_exercise: false }; // docs/api.md
  const BEEP_EVERY_MS = 2000;
  const TONES = [[0, 880], [0.25, 660], [0.5, 880]]; // seconds after the pattern's start, Hz

  let settings = null;
  const heard = []; // events that came before the settings
  const raised = new Set(); // what rang already: an event rings once
  let desktop = [];
  let audio = null;
  let beeping = null;
  let beeps = 0;

  const authorOf = (ref) => String(ref || "").split(":")[0];

  function rings(status) {
    if (status === "Actual") return true;
    return (status === "Exercise" || status === "Test") && Boolean(settings.alarm_exercise);
  }

  function entryLink(ref, kind) {
    if (kind === "notification") return el("a", { href: `/notifications/${ref}` }, ref);
    if (kind === "hotline") return el("a", { href: "/hotline" }, ref);
    if (kind === "inquiry") return el("a", { href: "/inquiries" }, ref);
    return ref;
  }

  function hrefOf(ref, kind) {
    if (kind === "notification") return `/notifications/${ref}`;
    return { hotline: "/hotline", inquiry: "/inquiries" }[kind] || null;
  }

  /* One line in the banner and one desktop notification; the sound starts if it is not on. */
  function raise(key, line, summary, href) {
    if (raised.has(key)) return;
    raised.add(key);
    list.append(line);
    root.hidden = false;
    showDesktop(summary, key, href);
    startSound();
  }

  function itemOf(kind, ref, status, label, ...rest) {
    return el("li", { class: "alarm-item", dataset: { kind, ref } },
      Parley.statusBanner(status), status && status !== "Actual" ? " " : null,
      el("strong", {}, label), ": ", ...rest);
  }

  async function escalation(name, event) {
    const ref = event.entry;
    if (!ref) return;
    let status = "Actual"; // an entry this page cannot read rings as if it were real
    try {
      status = (await api("GET", `/entries/${encodeURIComponent(ref)}`)).header.status;
    } catch (failure) {
      status = "Actual";
    }
    if (!rings(status)) return;
    const label = name === "deadline.late" ? words.late : words.missed;
    const clock = words.clocks[event.clock] || event.clock || "";
    const details = [event.addressee, clock].filter(Boolean).join(" · ");
    raise(`${name} ${ref} ${event.addressee} ${event.clock}`,
      itemOf(name, ref, status, label, entryLink(ref, event.kind), " · ", details),
      `${label}: ${ref} · ${details}`, hrefOf(ref, event.kind));
  }

  function hotline(event) {
    const author = authorOf(event.ref);
    const addressed = event.to ? event.to === party
      : Array.isArray(event.audience) && event.audience.includes(party);
    if (author === party || !addressed || !rings(event.status)) return;
    const said = event.text || event.phrase || "";
    raise(`hotline ${event.ref}`,
      itemOf("hotline", event.ref, event.status, words.hotline, `${words.from} ${author} `,
        entryLink(event.ref, "hotline"), said ? " · " : null, said ? el("q", {}, said) : null),
      `${words.hotline} ${words.from} ${author}: ${said}`, "/hotline");
  }

  /* Another party asks this party about an entry: its reply clock runs from now. */
  function inquiry(event) {
    const author = authorOf(event.ref);
    const addressed = Array.isArray(event.audience) ? event.audience.includes(party) : event.audience === "ALL";
    if (author === party || !addressed || !rings(event.status)) return;
    const asked = event.question || "";
    raise(`inquiry ${event.ref}`,
      itemOf("inquiry", event.ref, event.status, words.inquiry, `${words.from} ${author} `,
        entryLink(event.ref, "inquiry"), event.about ? ` · ${words.about} ${event.about}` : null,
        asked ? " · " : null, asked ? el("q", {}, asked) : null),
      `${words.inquiry} ${words.from} ${author}: ${asked}`, "/inquiries");
  }

  function notification(event) {
    if (authorOf(event.ref) === party || !rings(event.status)) return;
    const rank = SEVERITIES.indexOf(event.severity);
    if (rank < 0 || rank < SEVERITIES.indexOf(settings.alarm_severity)) return;
    const severity = Parley.strings.cap.severities[event.severity] || event.severity;
    const headline = event.headline || event.category || "";
    raise(`notification ${event.ref}`,
      itemOf("notification", event.ref, event.status, words.notification, `${severity} · `,
        entryLink(event.ref, "notification"), headline ? ` · ${headline}` : null),
      `${words.notification}: ${severity} · ${event.ref} · ${headline}`,
      hrefOf(event.ref, "notification"));
  }

  function showDesktop(summary, tag, href) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const shown = new Notification(words.title, { body: summary, tag, requireInteraction: true });
      shown.addEventListener("click", () => {
        window.focus();
        if (href) window.location.assign(href);
      });
      desktop.push(shown);
    } catch (failure) {
      // A browser that shows notifications only from a service worker: the banner still rings.
    }
  }

  function offerDesktop() {
    permission.hidden = !("Notification" in window && Notification.permission === "default");
  }

  function audioContext() {
    if (!audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      audio = new Context();
      audio.addEventListener("statechange", showSound);
    }
    return audio;
  }

  function showSound() {
    if (!beeping) return;
    const blocked = !audio || audio.state !== "running";
    body.dataset.alarmSound = blocked ? "blocked" : "playing";
    note.hidden = !blocked;
    note.textContent = blocked ? words.blocked : "";
  }

  /* Three short tones; the interval repeats them until the alarm is acknowledged. */
  function beep() {
    const context = audioContext();
    if (context && context.state === "running") {
      const start = context.currentTime;
      for (const [offset, pitch] of TONES) {
        const tone = context.createOscillator();
        const gain = context.createGain();
        tone.type = "square";
        tone.frequency.value = pitch;
        gain.gain.setValueAtTime(0.2, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.001, start + offset + 0.2);
        tone.connect(gain).connect(context.destination);
        tone.start(start + offset);
        tone.stop(start + offset + 0.2);
        beeps += 1;
      }
      body.dataset.alarmBeeps = String(beeps);
    }
    showSound();
  }

  function startSound() {
    if (!settings.sound) {
      body.dataset.alarmSound = "off";
      note.hidden = false;
      note.textContent = words.sound_off;
      return;
    }
    if (beeping) return;
    const context = audioContext();
    if (context && context.state === "suspended") context.resume().catch(() => {});
    beeping = setInterval(beep, BEEP_EVERY_MS);
    beep();
  }

  /* Browsers hold audio back until the reader does something on the page: resume then. */
  function unlock() {
    if (!settings || !settings.sound) return;
    const context = audioContext();
    if (context && context.state === "suspended") context.resume().then(showSound, () => {});
  }

  function acknowledge() {
    clearInterval(beeping);
    beeping = null;
    body.dataset.alarmSound = "stopped";
    for (const shown of desktop) shown.close();
    desktop = [];
    list.replaceChildren();
    note.hidden = true;
    root.hidden = true;
    document.getElementById("main").focus();
  }

  function handle(name, event) {
    if (!settings) {
      heard.push([name, event]);
      return;
    }
    if (name === "notification") notification(event);
    else if (name === "hotline") hotline(event);
    else if (name === "inquiry") inquiry(event);
    else escalation(name, event);
  }

  function armed() {
    if (settings && source.readyState === EventSource.OPEN) body.dataset.alarmArmed = "true";
  }

  const source = Parley.stream({
    notification: (event) => handle("notification", event),
    hotline: (event) => handle("hotline", event),
    inquiry: (event) => handle("inquiry", event),
    "deadline.missed": (event) => handle("deadline.missed", event),
    "deadline.late": (event) => handle("deadline.late", event),
  });
  source.addEventListener("open", armed);
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, unlock, { capture: true });
  document.getElementById("alarm-ack").addEventListener("click", acknowledge);
  permission.addEventListener("click", async () => {
    try {
      await Notification.requestPermission();
    } finally {
      offerDesktop();
    }
  });
  offerDesktop();

  /* The sound follows a changed setting: it stops when the setting is off now, and starts for
     an alarm still showing when it is on now. */
  function followSound() {
    if (beeping && !settings.sound) {
      clearInterval(beeping);
      beeping = null;
      startSound();
    } else if (!beeping && settings.sound && !root.hidden) {
      startSound();
    }
  }

  let reads = 0; // the newest read wins: an older one may answer after it
  async function readSettings() {
    const ticket = ++reads;
    const mine = await api("GET", "/me/settings").catch(() => settings || DEFAULTS);
    if (ticket !== reads) return;
    const first = settings === null;
    settings = { ...DEFAULTS, ...mine };
    body.dataset.alarmSoundSetting = settings.sound ? "on" : "off";
    body.dataset.alarmSeverity = settings.alarm_severity;
    if (first) {
      for (const [name, event] of heard.splice(0)) handle(name, event);
      armed();
    } else {
      followSound();
    }
  }

  Parley.onSettingsSaved(readSettings);
  window.addEventListener("focus", () => { if (settings) readSettings(); });
  readSettings();
})();

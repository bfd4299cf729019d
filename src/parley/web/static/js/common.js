/* Parley pages: what every page shares. Strings that came from a peer are only ever set as
   text (textContent), never parsed as HTML. Requests go to /api/v1 with the session cookie;
   those that change something send the session's CSRF token. */
"use strict";

const Parley = (() => {
  const body = document.body;
  const strings = readJson("parley-strings");
  const page = readJson("page-strings");
  const csrfMeta = document.querySelector('meta[name="parley-csrf"]');
  const zone = body.dataset.zone || "UTC";
  const lang = body.dataset.lang || "en";
  const locale = { en: "en-GB", ja: "ja-JP", ko: "ko-KR", zh: "zh-CN", ru: "ru-RU" }[lang] || "en-GB";

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  /* An element with attributes and children; strings become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
    }
  }

  async function api(method, path, payload, headers) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...(headers || {}) } };
    if (method !== "GET" && method !== "HEAD" && csrfMeta) init.headers["X-CSRF-Token"] = csrfMeta.content;
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    const answer = await fetch(`/api/v1${path}`, init);
    if (answer.status === 401 && path !== "/session") {
      window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
      throw new ApiError(401, null);
    }
    const type = answer.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await answer.json() : null;
    if (!answer.ok) throw new ApiError(answer.status, data);
    return data;
  }

  function format(ms, timeZone) {
    return new Intl.DateTimeFormat(locale, {
      timeZone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    }).format(new Date(ms));
  }

  /* A time in the officer's zone with UTC beside it (UTC alone when the zone is UTC). */
  function time(ms) {
    if (ms === null || ms === undefined) return "";
    const utc = `${format(ms, "UTC")} ${strings.utc}`;
    return zone === "UTC" ? utc : `${format(ms, zone)} (${utc})`;
  }

  function timeElement(ms) {
    return el("time", { datetime: new Date(ms).toISOString() }, time(ms));
  }

  /* A duration as "12 s", "5 min", "3 h 20 min", "2 d 4 h". */
  function duration(ms) {
    const seconds = Math.max(0, Math.round(Math.abs(ms) / 1000));
    if (seconds < 60) return `${seconds} ${strings.s}`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} ${strings.min} ${seconds % 60} ${strings.s}`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours} ${strings.h} ${minutes % 60} ${strings.min}`;
    return `${Math.floor(hours / 24)} ${strings.d} ${hours % 24} ${strings.h}`;
  }

  /* What a deadline's clock reads now: a countdown while it runs, "missed: overdue by" once it
     has run out unmet, "late by" for a deadline met late. words names the page's own terms
     (due, missed, late, late_by); a clock in any other state (met, none) is the caller's to
     name, so this answers null for it. */
  function clockText(state, due, lateBy, words, now = Date.now()) {
    if (state === "pending" && due && due >= now) {
      return { state, text: `${words.due} ${strings.in} ${duration(due - now)}` };
    }
    if (state === "pending" || state === "missed") {
      return { state: "missed", text: due ? `${words.missed}: ${strings.overdue} ${duration(now - due)}` : words.missed };
    }
    if (state === "late") return { state, text: lateBy ? `${words.late_by} ${duration(lateBy)}` : words.late };
    return null;
  }

  /* The EXERCISE / TEST / DRAFT banner of an entry's signed status, or null for Actual. */
  function statusBanner(status) {
    if (!status || status === "Actual") return null;
    return el("span", { class: `status-banner status-${status.toLowerCase()}` }, strings[status] || status);
  }

  function severityClass(severity) {
    const known = ["extreme", "severe", "moderate", "minor"];
    const value = (severity || "unknown").toLowerCase();
    return `sev-${known.includes(value) ? value : "unknown"}`;
  }

  /* The live stream. Every page of this node open in the browser shares one EventSource, held
     by a SharedWorker (static/js/stream-worker.js): a browser allows few connections per host,
     and each stream holds one for good. What a page gets looks like an EventSource: events by
     name (handlers get the parsed data), "open" and "error", and readyState. Without
     SharedWorker the page opens its own EventSource. */
  let source = null;

  function sharedStream() {
    const target = new EventTarget();
    target.readyState = EventSource.CONNECTING;
    const worker = new SharedWorker("/static/js/stream-worker.js", { name: "parley-stream" });
    worker.port.addEventListener("message", ({ data }) => {
      if (data.kind === "state") {
        const was = target.readyState;
        target.readyState = data.readyState;
        if (data.readyState === EventSource.OPEN && was !== EventSource.OPEN) target.dispatchEvent(new Event("open"));
        if (was === EventSource.OPEN || data.readyState === EventSource.CLOSED) target.dispatchEvent(new Event("error"));
      } else if (data.kind === "event") {
        target.dispatchEvent(new MessageEvent(data.type, { data: data.data, lastEventId: data.id }));
      }
    });
    worker.port.start();
    window.addEventListener("pagehide", () => worker.port.postMessage("bye"));
    window.addEventListener("pageshow", (event) => { if (event.persisted) worker.port.postMessage("back"); });
    target.listen = (name) => worker.port.postMessage({ listen: name });
    return target;
  }

  function pageStream() {
    const own = new EventSource("/api/v1/stream");
    own.listen = () => {};
    return own;
  }

  function stream(handlers) {
    if (!source) {
      source = "SharedWorker" in window ? sharedStream() : pageStream();
      const state = document.getElementById("stream-state");
      source.addEventListener("open", () => { if (state) state.textContent = strings.live; });
      source.addEventListener("error", () => { if (state) state.textContent = strings.offline; });
    }
    for (const [name, handler] of Object.entries(handlers)) {
      source.listen(name);
      source.addEventListener(name, (event) => handler(JSON.parse(event.data), event));
    }
    return source;
  }

  /* The officer's settings saved on one page, told to the others open in this browser: the
     alarm of every page re-reads them (alarm.js). Same origin only; no data travels, only the
     news, so a page reads the settings from the API, never from another page's message. */
  const settingsNews = "BroadcastChannel" in window ? new BroadcastChannel("parley-settings") : null;
  function settingsSaved() {
    if (settingsNews) settingsNews.postMessage("saved");
  }
  function onSettingsSaved(handler) {
    if (settingsNews) settingsNews.addEventListener("message", () => handler());
  }

  function tickClock() {
    const clock = document.getElementById("clock");
    if (clock) clock.textContent = time(Date.now());
  }

  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try { await api("DELETE", "/session"); } finally { window.location.assign("/login"); }
    });
  }
  tickClock();
  setInterval(tickClock, 1000);

  return {
    strings, page, el, api, ApiError, time, timeElement, duration, clockText, statusBanner, severityClass, stream, lang, zone,
    settingsSaved, onSettingsSaved,
  };
})();

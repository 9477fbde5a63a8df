/* SPDX-License-Identifier: MIT */
/* common.js: what both pages of the dashboard share: the access token, the
 * API, and building DOM nodes. Every value from the API (much of it came from
 * traffic: SNI, host names, User-Agent, Call-ID) goes into the page as a text
 * node (textContent), never as HTML. */
"use strict";

const pinhole = (() => {
  const KEY = "pinhole-token";

  /* A token in the URL fragment (#token=...) is taken once, kept for the
   * tab's session and removed from the address bar. */
  function takeFragmentToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (!m) return;
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }

  function token() {
    return sessionStorage.getItem(KEY);
  }

  class Unauthorized extends Error {}

  async function api(path) {
    const headers = { Accept: "application/json" };
    const t = token();
    if (t) headers.Authorization = "Bearer " + t;
    const r = await fetch(path, { headers, cache: "no-store", credentials: "omit" });
    if (r.status === 401) throw new Unauthorized("token required");
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  /* el("td", {class: "num"}, "12"): strings become text nodes. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("data-")) e.dataset[k.slice(5).replace(/-(.)/g, (_, c) => c.toUpperCase())] = v;
      else e.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function status(s) {
    const v = String(s || "");
    return el("span", { class: "st st-" + v.replace(/[^a-z_]/g, "") }, v.replace(/_/g, " "));
  }

  function time(us) {
    if (!us) return "–";
    return new Date(us / 1000).toISOString().replace("T", " ").slice(0, 19) + "Z";
  }

  function ago(us) {
    if (!us) return "never";
    const s = Math.max(0, Math.round(Date.now() / 1000 - us / 1e6));
    if (s < 90) return s + " s ago";
    if (s < 5400) return Math.round(s / 60) + " min ago";
    if (s < 172800) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " days ago";
  }

  function table(cols, rows, empty) {
    if (!rows.length) return el("p", { class: "muted" }, empty || "None.");
    return el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, cols.map((c) => el("th", {}, c)))),
      el("tbody", {}, rows));
  }

  /* A sensor's kernel drops from its last heartbeat's statistics. */
  function drops(sensor) {
    const st = sensor && sensor.stats;
    const cap = st && st.capture && (st.capture.capture || st.capture);
    return cap && typeof cap.kernel_drops === "number" ? cap.kernel_drops : null;
  }

  /* Shows the sign-in form; resolves once a token was entered. */
  function login(message) {
    const form = document.getElementById("login");
    document.getElementById("main").hidden = true;
    form.hidden = false;
    document.getElementById("login-error").textContent = message || "";
    return new Promise((resolve) => {
      form.onsubmit = (ev) => {
        ev.preventDefault();
        sessionStorage.setItem(KEY, document.getElementById("token").value.trim());
        form.hidden = true;
        document.getElementById("main").hidden = false;
        resolve();
      };
    });
  }

  /* Runs load() now and every `ms`; a 401 asks for the token first. */
  function poll(load, ms) {
    let timer = null;
    const run = async () => {
      clearTimeout(timer);
      try {
        await load();
        document.getElementById("error").textContent = "";
        document.getElementById("updated").textContent = "Updated " + new Date().toLocaleTimeString() +
          " (every " + ms / 1000 + " s)";
        document.body.dataset.loads = String(Number(document.body.dataset.loads || 0) + 1);
        /* From the navigation's start to the first page of data drawn
         * (tests/bench/web_dashboard.py reads it). */
        if (!document.body.dataset.firstLoadMs)
          document.body.dataset.firstLoadMs = String(Math.round(performance.now()));
      } catch (e) {
        if (e instanceof Unauthorized) {
          await login(token() ? "That token was refused." : "");
          return run();
        }
        document.getElementById("error").textContent = "Cannot read the collector: " + e.message;
      }
      timer = setTimeout(run, ms);
    };
    run();
    return run;
  }

  takeFragmentToken();
  return { api, el, status, time, ago, table, drops, poll, Unauthorized };
})();

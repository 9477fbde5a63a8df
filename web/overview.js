/* SPDX-License-Identifier: MIT */
/* overview.js: the sites overview (/): one row per site of the inventory,
 * from /api/overview and /api/sensors, sorted, filtered and read again
 * every few seconds. */
"use strict";

(() => {
  const { api, el, status, ago, drops, poll } = pinhole;
  const RANK = { not_compliant: 0, incomplete: 1, compliant: 2, not_observed: 3 };
  let sites = [];
  let sensors = {};
  let sort = { key: "status", dir: 1 };

  function value(s, key) {
    const c = s.counts || {};
    switch (key) {
      case "status": return RANK[s.status] ?? 9;
      case "one_way": return c.one_way || 0;
      case "unexpected": return c.unexpected || 0;
      case "sensors": return (s.sensors || []).length;
      case "drops": return s.drops ?? -1;
      default: return s[key];
    }
  }

  function compare(a, b) {
    const x = value(a, sort.key), y = value(b, sort.key);
    const d = typeof x === "string" ? x.localeCompare(y) : x - y;
    return d * sort.dir || a.site.localeCompare(b.site);
  }

  function sensorCell(s) {
    const td = el("td", { class: "sensors" });
    if (!(s.sensors || []).length) td.append(el("span", { class: "muted" }, "none"));
    for (const ss of s.sensors || []) {
      const info = sensors[ss.sensor] || {};
      const stale = info.state === "silent";
      td.append(el("span", {
        class: "sensor" + (stale ? " stale" : ""), "data-sensor": ss.sensor,
        title: "last event at this site " + pinhole.time(ss.last_event_us),
      }, ss.sensor, " ", el("span", { class: "muted" }, "(" + (info.state || "?") + ", " +
        ago(info.last_seen_us) + ")"), stale ? " STALE" : ""));
    }
    return td;
  }

  function row(s) {
    const c = s.counts || {};
    const failing = (s.failing_rules || []).map((r) => r.rule + " (" + r.status.replace(/_/g, " ") + ")");
    const link = el("a", { href: "/site.html?site=" + encodeURIComponent(s.site) }, s.site);
    return el("tr", { "data-site": s.site, class: s.status === "not_compliant" ? "bad" : "" },
      el("td", { class: "name" }, link),
      el("td", { class: "verdict" }, status(s.status)),
      el("td", { class: "failing" }, failing.length ? failing.join(", ") : el("span", { class: "muted" }, "none")),
      el("td", { class: "nat" }, status(s.nat)),
      el("td", { class: "alg" }, status(s.sip_alg)),
      el("td", { class: "num oneway" }, String(c.one_way || 0)),
      el("td", { class: "num unexpected" }, String(c.unexpected || 0)),
      sensorCell(s),
      el("td", { class: "num drops" }, s.drops === null ? "–" : String(s.drops)));
  }

  function render() {
    const name = document.getElementById("filter-name").value.trim().toLowerCase();
    const want = document.getElementById("filter-status").value;
    const shown = sites.filter((s) => (!name || s.site.toLowerCase().includes(name)) &&
      (!want || s.status === want)).sort(compare);
    const tbody = document.querySelector("#sites tbody");
    tbody.replaceChildren(...shown.map(row));
    document.getElementById("shown").textContent = shown.length + " of " + sites.length + " sites shown";
    for (const th of document.querySelectorAll("#sites th")) {
      th.classList.toggle("sorted-asc", th.dataset.key === sort.key && sort.dir > 0);
      th.classList.toggle("sorted-desc", th.dataset.key === sort.key && sort.dir < 0);
    }
    const n = (st) => sites.filter((s) => s.status === st).length;
    document.getElementById("summary").replaceChildren(
      sites.length + " sites: ",
      status("not_compliant"), " " + n("not_compliant") + "  ",
      status("incomplete"), " " + n("incomplete") + "  ",
      status("compliant"), " " + n("compliant") + "  ",
      status("not_observed"), " " + n("not_observed"));
  }

  async function load() {
    const [ov, ss] = await Promise.all([api("/api/overview"), api("/api/sensors")]);
    sensors = {};
    for (const s of ss.sensors) sensors[s.sensor] = s;
    sites = ov.sites;
    for (const s of sites) {
      const d = (s.sensors || []).map((x) => drops(sensors[x.sensor])).filter((x) => x !== null);
      s.drops = d.length ? d.reduce((a, b) => a + b, 0) : null;
    }
    render();
  }

  for (const th of document.querySelectorAll("#sites th")) {
    th.addEventListener("click", () => {
      sort = { key: th.dataset.key, dir: sort.key === th.dataset.key ? -sort.dir : 1 };
      render();
    });
  }
  document.getElementById("filter-name").addEventListener("input", render);
  document.getElementById("filter-status").addEventListener("change", render);
  poll(load, 2000);
})();

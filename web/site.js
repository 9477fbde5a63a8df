/* SPDX-License-Identifier: MIT */
/* site.js: one site (/site.html?site=NAME): its rules as in the text
 * report, the rules' status history, requirements, unexpected traffic by
 * destination, NAT mappings per phone, SIP ALG evidence, one-way calls,
 * sensors and its events a page at a time (the /api/events cursor). */
"use strict";

(() => {
  const { api, el, status, time, ago, table, drops, poll } = pinhole;
  const site = new URLSearchParams(location.search).get("site") || "";
  const q = encodeURIComponent(site);
  const put = (id, node) => document.getElementById(id).replaceChildren(node);
  const num = (v) => el("td", { class: "num" }, String(v ?? 0));

  /* Why each rule's flows were not allowed, counted over the site's newest
   * flow events (the store keeps counts per verdict, not per reason). */
  function reasons(flows) {
    const by = {};
    for (const x of flows) {
      const p = (x.event || {}).pinhole || {};
      if (!p.rule || p.verdict === "allowed") continue;
      const r = (by[p.rule] = by[p.rule] || {});
      const why = p.reason || p.verdict;
      r[why] = (r[why] || 0) + 1;
    }
    return by;
  }

  function rules(d, why) {
    put("rules", table(["Rule", "Status", "Purpose", "Source", "Allowed", "Blocked", "Uncon\u00adfirmed",
      "First and last seen", "Reasons (newest 1,000 flows)", "Example flow"],
    (d.rules || []).map((r) => el("tr", {
      "data-rule": r.rule,
      class: r.status === "blocked" || r.status === "partly_blocked" ? "bad" : "",
    }, el("td", { class: "mono" }, r.rule), el("td", {}, status(r.status)),
    el("td", { class: "purpose" }, r.purpose || ""),
    el("td", { class: "source" }, [r.document, r.source].filter(Boolean).join(", ")),
    num(r.allowed), num(r.blocked), num(r.unconfirmed),
    el("td", { class: "nowrap" }, time(r.first_seen_us), el("br"), time(r.last_seen_us)),
    el("td", { class: "reasons" }, Object.entries(why[r.rule] || {}).map(([k, n]) => k + " ×" + n).join(", ")),
    el("td", { class: "example" }, r.example || "")))));
  }

  function history(h) {
    const by = new Map();
    for (const c of h.history || []) {
      if (!by.has(c.rule)) by.set(c.rule, []);
      by.get(c.rule).push(c);
    }
    put("history", table(["Rule", "Status changes, oldest first (traffic time)"],
      [...by.entries()].map(([rule, cs]) => el("tr", { "data-rule": rule },
        el("td", { class: "mono" }, rule),
        el("td", {}, el("div", { class: "strip" }, cs.map((c) =>
          el("span", { class: "seg st st-" + c.status, title: (c.was || "not observed") + " → " +
            c.status + " at " + time(c.ts_us) + " (recorded " + time(c.at_us) + ")" },
          time(c.ts_us).slice(5, 16) + " " + c.status.replace(/_/g, " "))))))),
      "No rule has changed status yet."));
  }

  function requirements(d) {
    const viol = new Map((d.requirements_violated || []).map((v) => [v.requirement, v]));
    put("requirements", table(["Requirement", "Status", "Text", "Source", "Violating flows", "Example"],
      (d.requirements || []).map((r) => {
        const v = viol.get(r.requirement) || {};
        return el("tr", { "data-requirement": r.requirement, class: r.status === "violated" ? "bad" : "" },
          el("td", { class: "mono" }, r.requirement), el("td", {}, status(r.status)),
          el("td", {}, r.text || ""), el("td", {}, [r.document, r.source].filter(Boolean).join(", ")),
          num(v.count), el("td", { class: "example" }, v.example || ""));
      })));
  }

  function unexpected(d) {
    const groups = new Map();
    for (const u of d.unexpected || []) {
      if (!groups.has(u.dest)) groups.set(u.dest, []);
      groups.get(u.dest).push(u);
    }
    const rows = [];
    for (const [dest, us] of groups) {
      const total = us.reduce((a, u) => a + (u.count || 0), 0);
      rows.push(el("tr", { class: "dest", "data-dest": dest },
        el("td", { colspan: 6, class: "mono" }, dest + "  (" + total + " flows)")));
      for (const u of us) {
        rows.push(el("tr", {}, el("td", { class: "mono" }, u.port + "/" + u.proto), num(u.count),
          el("td", {}, time(u.first_seen_us) + " … " + time(u.last_seen_us)),
          el("td", {}, u.nearest_rule ? el("span", { class: "mono" }, u.nearest_rule) : "–",
            u.nearest_purpose ? " " + u.nearest_purpose : ""),
          el("td", {}, u.nearest_differs || ""), el("td", { class: "example" }, u.example || "")));
      }
    }
    put("unexpected", table(["Port", "Flows", "Seen", "Nearest rule", "Differs in", "Example"], rows,
      "No unexpected traffic."));
  }

  function nat(d, events) {
    const n = d.nat || {};
    const changes = events.length ? events : (n.evidence || []).map((e) => ({ event: e.event || e }));
    const phones = new Map();
    for (const c of changes) {
      const e = c.event || {};
      const key = e.aor || e.private || "unknown phone";
      if (!phones.has(key)) phones.set(key, []);
      phones.get(key).push(e);
    }
    const box = el("div", {},
      el("p", {}, "Verdict ", status(n.verdict), " — " + (n.comparisons || 0) + " REGISTER comparisons, " +
        (n.changes || 0) + " port changes now, " + (n.changes_total || 0) + " ever",
        n.reason ? " (" + n.reason + ")" : ""));
    for (const [phone, es] of phones) {
      es.sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)));
      box.append(el("div", { class: "phone", "data-phone": phone }, phone,
        es[0].private ? el("span", { class: "muted" }, "  private " + es[0].private) : ""));
      box.append(el("ol", { class: "timeline", "data-phone": phone }, es.map((e) =>
        el("li", { class: "mapping" }, el("span", { class: "mono" }, e.old_public || "?"), " → ",
          el("span", { class: "mono" }, e.new_public || "?"),
          el("span", { class: "muted" }, "  after " + (e.interval ?? "?") + " s, " + (e.old_time || "?") +
            " → " + (e.new_time || e.timestamp || "?") + (e.vantage ? ", seen " + e.vantage : ""))))));
    }
    if (!phones.size) box.append(el("p", { class: "muted" }, "No port change seen."));
    put("nat", box);
  }

  function alg(d, events) {
    put("alg", table(["Time", "Evidence", "Message", "Header", "Inside", "Outside", "Call-ID"],
      events.map((x) => {
        const e = x.event || {};
        return el("tr", {}, el("td", {}, e.timestamp || ""), el("td", {}, e.evidence || ""),
          el("td", {}, e.message || ""), el("td", { class: "mono" }, e.header || ""),
          el("td", { class: "mono" }, e.inside ?? ""), el("td", { class: "mono" }, e.outside ?? ""),
          el("td", { class: "mono" }, e.call_id || ""));
      }), "No sign of SIP rewriting."));
  }

  function oneway(events) {
    put("oneway", table(["Time", "Call-ID", "Missing", "Toward", "Packets in / out", "Flow"],
      events.map((x) => {
        const e = x.event || {}, m = e.media || {};
        const pk = (m.inbound || {}).packets ?? "?", po = (m.outbound || {}).packets ?? "?";
        return el("tr", { class: "bad" }, el("td", {}, e.timestamp || ""), el("td", { class: "mono" }, e.call_id || ""),
          el("td", {}, e.missing || ""), el("td", {}, e.missing_toward || ""), el("td", {}, pk + " / " + po),
          el("td", { class: "mono" }, e.src_ip ? e.src_ip + ":" + e.src_port + " → " + e.dest_ip + ":" + e.dest_port : ""));
      }), "No one-way call."));
  }

  function sensors(d, all) {
    const by = {};
    for (const s of all.sensors) by[s.sensor] = s;
    put("sensors", table(["Sensor", "State", "Last report", "Latest event here", "Received", "Missing", "Kernel drops"],
      (d.sensors || []).map((x) => {
        const s = by[x.sensor] || {};
        const dr = drops(s);
        return el("tr", { "data-sensor": x.sensor, class: s.state === "silent" ? "bad" : "" },
          el("td", { class: "mono" }, x.sensor), el("td", {}, status(s.state)),
          el("td", {}, ago(s.last_seen_us)), el("td", {}, time(x.last_event_us)),
          num(s.received), num(s.missing), el("td", { class: "num" }, dr === null ? "–" : String(dr)));
      }), "No sensor has reported on this site."));
  }

  /* One line of an event; the whole of it opens below. */
  function brief(e) {
    const p = e.pinhole || {}, sip = e.sip || {};
    const host = (e.tls && e.tls.sni) || (e.http && e.http.hostname) || "";
    const ends = e.src_ip ? e.src_ip + ":" + e.src_port + " → " + e.dest_ip + ":" + e.dest_port + " " +
      (e.proto || "") : "";
    switch (e.event_type) {
      case "flow": return [ends, e.app_proto, p.verdict, p.rule || p.nearest_rule, host].filter(Boolean).join("  ");
      case "sip": return [ends, sip.method, sip.code, sip.call_id, sip.user_agent].filter(Boolean).join("  ");
      case "nat_port_change": return [e.aor, e.old_public + " → " + e.new_public].join("  ");
      case "sip_alg": return [e.evidence, e.message, e.header, e.inside, e.outside].filter(Boolean).join("  ");
      case "rtp_one_way": return [e.call_id, "missing " + e.missing].join("  ");
      case "nat_binding": return [e.vantage, e.private, (e.old_public ? e.old_public + " → " : "") + e.public,
        e.method].filter(Boolean).join("  ");
      default: return JSON.stringify(e).slice(0, 160);
    }
  }

  /* Recent events, a page at a time: `next` of a page is the `before` of
   * the one after it; the cursors of the pages above are kept for Newer. */
  const pages = { stack: [], before: null, next: null };
  async function events() {
    const type = document.getElementById("ev-type").value;
    let path = "/api/events?limit=25&site=" + q + (type ? "&type=" + encodeURIComponent(type) : "");
    if (pages.before) path += "&before=" + pages.before;
    const r = await api(path);
    pages.next = r.next;
    document.getElementById("ev-older").disabled = r.next === null;
    document.getElementById("ev-newer").disabled = !pages.stack.length;
    document.getElementById("ev-page").textContent = "page " + (pages.stack.length + 1) + ", " +
      r.events.length + " events";
    put("events", table(["Id", "Time", "Type", "Sensor", "Event"], r.events.map((x) => {
      const e = x.event || {};
      return el("tr", { "data-id": x.id }, el("td", { class: "num" }, String(x.id)),
        el("td", { class: "nowrap" }, String(e.timestamp || "").replace("T", " ").slice(0, 23)),
        el("td", {}, e.event_type || ""), el("td", { class: "mono" }, x.sensor),
        el("td", { class: "example" }, el("details", {}, el("summary", {}, brief(e)),
          el("pre", {}, JSON.stringify(e, null, 1)))));
    }), "No event."));
  }
  const go = (before, push) => async () => {
    if (push === 1) pages.stack.push(pages.before);
    if (push === -1) before = pages.stack.pop() ?? null;
    pages.before = before === undefined ? pages.next : before;
    await events();
  };
  document.getElementById("ev-older").addEventListener("click", go(undefined, 1));
  document.getElementById("ev-newer").addEventListener("click", go(null, -1));
  document.getElementById("ev-newest").addEventListener("click", () => {
    pages.stack = [];
    go(null, 0)();
  });
  document.getElementById("ev-type").addEventListener("change", () => {
    pages.stack = [];
    go(null, 0)();
  });

  const kind = (t) => api("/api/events?limit=500&site=" + q + "&type=" + t).then((r) => r.events);
  let first = true;
  async function load() {
    const [d, h, all, natEv, algEv, owEv, flows] = await Promise.all([api("/api/sites/" + q),
      api("/api/sites/" + q + "/history"), api("/api/sensors"), kind("nat_port_change"),
      kind("sip_alg"), kind("rtp_one_way"),
      api("/api/events?limit=1000&site=" + q + "&type=flow").then((r) => r.events)]);
    document.title = "pinhole: " + d.site;
    document.getElementById("site-name").textContent = d.site;
    document.getElementById("verdict").replaceChildren(status(d.status));
    const c = d.compliance || {};
    document.getElementById("summary").textContent = (d.flows || 0) + " flows; rules: " +
      (c.rules ?? "?") + " applicable, " + (c.verified ?? 0) + " verified, " + (c.failing ?? 0) +
      " failing, " + (c.unverified ?? 0) + " unverified, " + (c.waived ?? 0) + " waived; NAT " +
      d.nat.verdict + "; SIP ALG " + d.sip_alg + "; " + (c.requirements_violated ?? 0) +
      " requirements violated";
    rules(d, reasons(flows));
    history(h);
    requirements(d);
    unexpected(d);
    nat(d, natEv);
    alg(d, algEv);
    oneway(owEv);
    sensors(d, all);
    if (first || !pages.stack.length) await events(); /* the newest page follows; an older one stays */
    first = false;
  }
  if (!site) document.getElementById("error").textContent = "No site named: /site.html?site=NAME";
  else poll(load, 5000);
})();

// The back office's dashboard: reads /staff/v1/dashboard (same origin) and charts it with
// uPlot (vendored beside this file). Text from the server goes in as text, never as HTML.
(function () {
  "use strict";
  var COLOURS = ["#0b6e4f", "#1f77b4", "#d62728", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function width(el) {
    return Math.max(280, Math.min(1040, el.clientWidth || 600));
  }

  function lines(el, times, named, scale) {
    var names = Object.keys(named);
    var data = [times];
    var series = [{}];
    names.forEach(function (name, i) {
      data.push(named[name].map(function (v) { return v === null ? null : v / scale; }));
      series.push({ label: name.replace(/_/g, " "), stroke: COLOURS[i % COLOURS.length], width: 2 });
    });
    el.textContent = "";
    if (!names.length) {
      el.textContent = "Nothing in this range.";
      el.className += " muted";
      return;
    }
    new uPlot({ width: width(el), height: 240, series: series, scales: { x: { time: true } } }, data, el);
  }

  function cell(row, text, numeric) {
    var td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "num";
    row.appendChild(td);
  }

  function money(minor, per) {
    return (minor / per).toLocaleString("en-KE", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function draw(d) {
    var v = d.volumes;
    var pick = function (table, key) {
      var out = {};
      Object.keys(table).forEach(function (name) { out[name] = table[name][key]; });
      return out;
    };
    lines(document.getElementById("chart-product-count"), v.times, pick(v.by_product, "transactions"), 1);
    lines(document.getElementById("chart-product-amount"), v.times, pick(v.by_product, "amount"), d.minor_per_major);
    lines(document.getElementById("chart-channel-count"), v.times, pick(v.by_channel, "transactions"), 1);
    lines(document.getElementById("chart-channel-amount"), v.times, pick(v.by_channel, "amount"), d.minor_per_major);

    var h = d.health;
    document.getElementById("health-window").textContent = h.window;
    var minutes = h.minutes;
    var healthEl = document.getElementById("chart-health");
    if (minutes.length) {
      new uPlot({
        width: width(healthEl), height: 240,
        series: [{}, { label: "success %", stroke: COLOURS[0], width: 2, scale: "%" },
          { label: "p95 ms", stroke: COLOURS[2], width: 2, scale: "ms" }],
        scales: { x: { time: true }, "%": { range: [0, 100] } },
        axes: [{}, { scale: "%" }, { scale: "ms", side: 1, grid: { show: false } }]
      }, [minutes.map(function (m) { return m.at; }),
        minutes.map(function (m) { return m.success_rate === null ? null : m.success_rate * 100; }),
        minutes.map(function (m) { return m.latency_p95_ms; })], healthEl);
    } else {
      healthEl.textContent = "The per-minute chart starts after the first minute of samples.";
      healthEl.className += " muted";
    }
    var rows = document.getElementById("health-rows");
    h.products.concat([h.total]).forEach(function (p) {
      var tr = document.createElement("tr");
      cell(tr, p.product.replace(/_/g, " "));
      cell(tr, String(p.requests), true);
      cell(tr, String(p.succeeded), true);
      cell(tr, p.success_rate === null ? "" : (p.success_rate * 100).toFixed(1) + "%", true);
      cell(tr, p.latency_mean_ms === null ? "" : p.latency_mean_ms.toFixed(1), true);
      cell(tr, p.latency_p95_ms === null ? "" : String(p.latency_p95_ms), true);
      rows.appendChild(tr);
    });

    var f = d.floats;
    document.getElementById("floats-summary").textContent =
      f.below + " of " + f.agents + " agents under " + d.currency + " " +
      money(f.threshold, d.minor_per_major) + " (the marker), lowest first.";
    var top = Math.max(f.threshold * 2, 1);
    f.levels.forEach(function (level) { top = Math.max(top, level.balance); });
    var floats = document.getElementById("float-rows");
    f.levels.forEach(function (level) {
      var tr = document.createElement("tr");
      if (level.low) tr.className = "overdue";
      cell(tr, level.name + (level.low ? " (low)" : ""));
      cell(tr, level.number);
      cell(tr, money(level.balance, d.minor_per_major), true);
      var td = document.createElement("td");
      var bar = document.createElement("div");
      bar.className = "level";
      var fill = document.createElement("span");
      fill.className = "fill" + (level.low ? " low" : "");
      fill.style.width = (100 * Math.max(level.balance, 0) / top).toFixed(1) + "%";
      var mark = document.createElement("span");
      mark.className = "threshold";
      mark.style.left = (100 * f.threshold / top).toFixed(1) + "%";
      bar.appendChild(fill);
      bar.appendChild(mark);
      td.appendChild(bar);
      tr.appendChild(td);
      floats.appendChild(tr);
    });
  }

  function load() {
    var root = document.getElementById("dashboard");
    var state = document.getElementById("dashboard-state");
    fetch(root.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
          return body;
        });
      })
      .then(function (d) { draw(d); state.textContent = "As of now."; root.setAttribute("data-ready", "1"); })
      .catch(function (e) { state.textContent = "The dashboard could not be read: " + e.message; });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();

/* innotrial live dashboard: draws the comparison charts and keeps them live over SSE. */
(function () {
  "use strict";
  var MAX_LIVE_POINTS = 5000;
  var config = JSON.parse(document.getElementById("dashboard-config").textContent);
  var L = config.labels;
  var state = { source: null, lastX: {}, range: config.default_range, received: 0 };
  window.innotrialDashboard = state;

  var partsFormat = new Intl.DateTimeFormat("en-CA", {
    timeZone: config.timezone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
  });

  function siteTime(ms) {
    var p = {};
    partsFormat.formatToParts(new Date(ms)).forEach(function (part) { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second;
  }

  var COLOURS = ["#0b6e99", "#e8710a", "#8e44ad", "#1a7f37"];

  function traceStyle(trace, i) {
    var colour = COLOURS[i % COLOURS.length];
    if (trace.kind === "line") {
      return { mode: "lines", line: { width: i === 0 ? 1.8 : 1.2, color: colour }, opacity: i === 0 ? 1 : 0.85 };
    }
    if (trace.kind === "markers") {
      return { mode: "markers", marker: { size: 7, color: colour }, hovertemplate: "%{y:.2f} °C · %{text}<extra>" + trace.label + "</extra>" };
    }
    return { mode: "markers", marker: { size: 11, symbol: "diamond", color: colour, line: { width: 1, color: "#fff" } },
             hovertemplate: "%{text}<extra>" + trace.label + "</extra>" };
  }

  function layoutFor(chart) {
    var layout = {
      margin: { l: 56, r: 16, t: 8, b: 40 }, height: 300, showlegend: true,
      legend: { orientation: "h", y: -0.25 }, xaxis: { type: "date" },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff", font: { family: "system-ui, 'Noto Sans CJK TC', sans-serif", size: 12 }
    };
    if (chart.family === "lift") { layout.yaxis = { type: "category", automargin: true }; }
    if (chart.family === "rain_gauge") { layout.yaxis = { title: { text: "mm" }, rangemode: "tozero" }; }
    if (chart.family === "fever_screener") { layout.yaxis = { title: { text: "°C" } }; }
    if (chart.family === "uv_robot") { layout.yaxis = { title: { text: "µW/cm²" }, rangemode: "tozero" }; }
    layout.shapes = exclusionShapes(chart);
    return layout;
  }

  /* Active exclusion windows naming a device of the chart, as shaded bands behind the traces. */
  function exclusionShapes(chart) {
    var ids = chart.traces.map(function (trace) { return trace.device_id; });
    return (config.exclusions || []).filter(function (x) {
      return x.devices === "all" || x.devices.some(function (d) { return ids.indexOf(d) >= 0; });
    }).map(function (x) {
      return { type: "rect", xref: "x", yref: "paper", x0: siteTime(x.start_ms), x1: siteTime(x.end_ms),
               y0: 0, y1: 1, layer: "below", line: { width: 0 }, fillcolor: "rgba(230, 170, 0, 0.18)",
               name: x.id };
    });
  }

  function emptyTraces(chart) {
    return chart.traces.map(function (trace) {
      var base = { name: trace.label, type: "scattergl", x: [], y: [], text: [] };
      if (trace.kind !== "line") { base.type = "scatter"; }
      var colourIndex = trace.key === "t0" ? 0 : Number(trace.key.slice(1));
      return Object.assign(base, traceStyle(trace, colourIndex));
    });
  }

  function draw(chart, series) {
    var traces = emptyTraces(chart);
    chart.traces.forEach(function (trace, i) {
      var s = series[trace.key] || { x: [], y: [], text: null };
      traces[i].x = s.x.map(siteTime);
      traces[i].y = s.y;
      traces[i].text = s.text || [];
      state.lastX[chart.chart_id + "/" + trace.key] = s.x.length ? s.x[s.x.length - 1] : -Infinity;
    });
    Plotly.react("chart-" + chart.chart_id, traces, layoutFor(chart), { responsive: true, displaylogo: false });
  }

  function extend(chart, series) {
    var update = { x: [], y: [], text: [] }, indices = [];
    chart.traces.forEach(function (trace, i) {
      var s = series[trace.key], key = chart.chart_id + "/" + trace.key;
      if (!s) { return; }
      var keep = [];
      s.x.forEach(function (x, j) { if (x > state.lastX[key]) { keep.push(j); } });
      if (!keep.length) { return; }
      state.lastX[key] = s.x[keep[keep.length - 1]];
      update.x.push(keep.map(function (j) { return siteTime(s.x[j]); }));
      update.y.push(keep.map(function (j) { return s.y[j]; }));
      update.text.push(keep.map(function (j) { return s.text ? s.text[j] : ""; }));
      indices.push(i);
      state.received += keep.length;
    });
    if (indices.length) { Plotly.extendTraces("chart-" + chart.chart_id, update, indices, MAX_LIVE_POINTS); }
  }

  function setLive(ok) {
    document.getElementById("live-dot").className = ok ? "dot on" : "dot off";
    document.getElementById("live-label").textContent = ok ? L.live : L.disconnected;
  }

  function showStatus(gateways) {
    gateways.forEach(function (gw) {
      var badge = document.querySelector('[data-gateway-state="' + gw.gateway_id + '"]');
      if (badge) {
        badge.className = "badge state-" + gw.state;
        badge.textContent = L["state_" + gw.state] || gw.state;
      }
      var since = document.querySelector('[data-gateway-since="' + gw.gateway_id + '"]');
      if (since) { since.textContent = gw.state_changed_ms ? L.since + " " + siteTime(gw.state_changed_ms) : ""; }
      var buffer = document.querySelector('[data-gateway-buffer="' + gw.gateway_id + '"]');
      if (buffer) { buffer.textContent = gw.buffer_depth === null ? "—" : String(gw.buffer_depth); }
      Object.keys(gw.devices).forEach(function (deviceId) {
        var cell = document.querySelector('[data-device-last="' + deviceId + '"]');
        var ms = gw.devices[deviceId];
        if (cell) { cell.textContent = ms === null ? L.never : siteTime(ms); }
      });
    });
  }

  function refreshPanels() {
    fetch("/trials/" + config.trial_id + "/panels?lang=" + encodeURIComponent(config.lang), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        document.getElementById("panels").innerHTML = html;
        var marker = document.querySelector("#panels [data-verdict]");
        var verdict = document.getElementById("verdict");
        if (marker && verdict) {
          var v = marker.getAttribute("data-verdict");
          verdict.className = "badge big verdict-" + v;
          verdict.textContent = L["verdict_" + v] || v;
        }
      });
  }

  function listen(after) {
    if (state.source) { state.source.close(); }
    var parts = Object.keys(after).map(function (d) { return d + ":" + after[d]; });
    var source = new EventSource("/trials/" + config.trial_id + "/events?after=" + encodeURIComponent(parts.join(",")));
    // the server ends each stream after a while and the browser resumes it at once; only a
    // connection that stays down for a few seconds is shown as reconnecting
    source.onopen = function () { clearTimeout(state.downTimer); setLive(true); };
    source.onerror = function () {
      clearTimeout(state.downTimer);
      state.downTimer = setTimeout(function () { if (source.readyState !== 1) { setLive(false); } }, 3000);
    };
    source.addEventListener("points", function (event) {
      var data = JSON.parse(event.data);
      config.charts.forEach(function (chart) { if (data.charts[chart.chart_id]) { extend(chart, data.charts[chart.chart_id]); } });
    });
    source.addEventListener("status", function (event) { showStatus(JSON.parse(event.data)); });
    source.addEventListener("metrics", refreshPanels);
    state.source = source;
  }

  function load(range) {
    state.range = range;
    document.querySelectorAll("[data-range]").forEach(function (b) {
      b.classList.toggle("active", b.getAttribute("data-range") === range);
    });
    var seriesUrl = config.series_url || ("/trials/" + config.trial_id + "/series");
    fetch(seriesUrl + "?range=" + encodeURIComponent(range), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("series " + r.status); } return r.json(); })
      .then(function (data) {
        config.charts.forEach(function (chart) { draw(chart, data.charts[chart.chart_id] || {}); });
        state.loaded = true;
        if (config.live !== false) { listen(data.after); }
      });
  }

  document.querySelectorAll("[data-range]").forEach(function (button) {
    button.addEventListener("click", function () { load(button.getAttribute("data-range")); });
  });
  load(config.default_range);
})();

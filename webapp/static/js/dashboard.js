// The statistics screen: each chart fetches its own JSON view and redraws every 60 seconds.
(function () {
  "use strict";
  var API = document.currentScript.dataset.api;
  var REFRESH_MS = 60000;
  var TEXT = "#dbe4f3", MUTED = "#8a9bb8", GRID = "#22304d";
  var PALETTE = ["#4fc3f7", "#ffb74d", "#81c784", "#e57373", "#ba68c8", "#fff176", "#4db6ac", "#f06292"];
  var charts = {};
  var range = { from: "", to: "" };

  function axisStyle(extra) {
    return Object.assign({
      axisLine: { lineStyle: { color: MUTED } },
      axisLabel: { color: MUTED },
      splitLine: { lineStyle: { color: GRID } }
    }, extra || {});
  }

  // Category labels under an x axis sit a little lower, clear of the y axis' "0".
  function xAxisStyle(extra) {
    var style = axisStyle(extra);
    style.axisLabel = Object.assign({ color: MUTED, margin: 12 }, (extra || {}).axisLabel);
    return style;
  }

  function base(extra) {
    return Object.assign({
      color: PALETTE,
      backgroundColor: "transparent",
      textStyle: { color: TEXT },
      tooltip: { trigger: "axis" },
      legend: { textStyle: { color: TEXT }, top: 0 },
      grid: { left: 50, right: 20, top: 35, bottom: 30, containLabel: true }
    }, extra);
  }

  function shorten(title) { return title.length > 28 ? title.slice(0, 27) + "…" : title; }

  function noData(option, empty, message) {
    if (empty) {
      option.graphic = { type: "text", left: "center", top: "middle",
        style: { text: message || "No data yet", fill: MUTED, fontSize: 15, lineHeight: 22, align: "center" } };
    }
    return option;
  }

  function rankingOption(books, valueKey, label) {
    var rows = books.slice().reverse();
    return noData(base({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { show: false },
      grid: { left: 10, right: 30, top: 10, bottom: 20, containLabel: true },
      xAxis: axisStyle({ type: "value", minInterval: 1 }),
      yAxis: axisStyle({ type: "category", data: rows.map(function (b) { return shorten(b.title); }) }),
      series: [{ name: label, type: "bar", data: rows.map(function (b) { return b[valueKey]; }),
                 label: { show: true, position: "right", color: TEXT } }]
    }), books.length === 0);
  }

  // A donut without labels on its slices (small ones would collide): the legend names each slice with its count.
  function donut(name, centerX, entries) {
    return { name: name, type: "pie", radius: ["30%", "50%"], center: [centerX, "56%"],
             label: { show: false }, labelLine: { show: false }, data: entries };
  }

  // Chart id -> [JSON view, function turning its data into an ECharts option].
  var BUILDERS = {
    "loans": ["loans", function (d) {
      return base({
        xAxis: xAxisStyle({ type: "category", data: d.days }),
        yAxis: axisStyle({ type: "value", minInterval: 1 }),
        dataZoom: [{ type: "inside" }],
        series: [{ name: "Loans", type: "line", smooth: true, areaStyle: { opacity: 0.15 }, data: d.loans },
                 { name: "Returns", type: "line", smooth: true, data: d.returns }]
      });
    }],
    "sales": ["sales", function (d) {
      return base({
        xAxis: xAxisStyle({ type: "category", data: d.days }),
        yAxis: [axisStyle({ type: "value", name: "Revenue" }),
                axisStyle({ type: "value", name: "Orders", minInterval: 1, splitLine: { show: false } })],
        dataZoom: [{ type: "inside" }],
        series: [{ name: "Revenue", type: "bar", data: d.revenue },
                 { name: "Orders", type: "line", yAxisIndex: 1, smooth: true, data: d.orders }]
      });
    }],
    "new-readers": ["new-readers", function (d) {
      // Whole weeks; one still under way is drawn faint and named "so far".
      var last = d.weeks.length - 1;
      return base({
        legend: { show: false },
        xAxis: xAxisStyle({ type: "category", data: d.weeks.map(function (monday, i) {
          return d.week_in_progress && i === last ? monday + " (so far)" : monday;
        }) }),
        yAxis: axisStyle({ type: "value", minInterval: 1 }),
        series: [{ name: "New readers", type: "bar", data: d.readers.map(function (count, i) {
          return d.week_in_progress && i === last ? { value: count, itemStyle: { opacity: 0.4 } } : count;
        }) }]
      });
    }],
    "ratings": ["ratings", function (d) {
      var total = d.ratings.reduce(function (a, b) { return a + b; }, 0);
      return noData(base({
        legend: { show: false },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        xAxis: xAxisStyle({ type: "category", data: d.stars.map(function (s) { return s + "★"; }) }),
        yAxis: axisStyle({ type: "value", minInterval: 1 }),
        series: [{ name: "Ratings", type: "bar", data: d.ratings, colorBy: "data" }]
      }), total === 0);
    }],
    "inventory": ["inventory", function (d) {
      var copies = [
        { name: "On shelf", value: d.copies.on_shelf },
        { name: "On loan", value: d.copies.on_loan },
        { name: "Held for pickup", value: d.copies.held_for_pickup }];
      var titles = [
        { name: "In stock", value: d.titles_for_sale.in_stock },
        { name: "Sold out", value: d.titles_for_sale.sold_out }];
      var counts = {};
      copies.concat(titles).forEach(function (entry) { counts[entry.name] = entry.value.toLocaleString(); });
      var caption = { textStyle: { color: MUTED, fontSize: 13, fontWeight: "normal" }, top: "88%", textAlign: "center" };
      return base({
        tooltip: { trigger: "item", formatter: "{a}<br>{b}: {c} ({d}%)" },
        legend: { textStyle: { color: TEXT }, top: 0, formatter: function (name) { return name + ": " + counts[name]; } },
        title: [Object.assign({ text: "Copies for loan", left: "26%" }, caption),
                Object.assign({ text: "Titles for sale", left: "74%" }, caption)],
        series: [donut("Copies for loan", "26%", copies), donut("Titles for sale", "74%", titles)]
      });
    }],
    "top-loans": ["top-loans", function (d) { return rankingOption(d.books, "loans", "Loans"); }],
    "top-sales": ["top-sales", function (d) { return rankingOption(d.books, "copies", "Copies sold"); }],
    "overdue": ["overdue", function (d) {
      var total = d.loans.reduce(function (a, b) { return a + b; }, 0);
      return noData(base({
        legend: { show: false },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        // "31-60 days" -> two lines, so five buckets fit side by side in a narrow panel.
        xAxis: xAxisStyle({ type: "category", axisLabel: { interval: 0, lineHeight: 14 },
                            data: d.buckets.map(function (b) { return b.replace(/ days$/, "\ndays"); }) }),
        yAxis: axisStyle({ type: "value", minInterval: 1 }),
        series: [{ name: "Overdue loans", type: "bar", data: d.loans, itemStyle: { color: "#e57373" } }]
      }), total === 0);
    }],
    "categories": ["categories", function (d) {
      // Horizontal bars: every category name is readable, none rotated or skipped; the busiest on top.
      return noData(base({
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        grid: { left: 10, right: 30, top: 35, bottom: 10, containLabel: true },
        xAxis: axisStyle({ type: "value", minInterval: 1 }),
        yAxis: axisStyle({ type: "category", inverse: true, data: d.categories, axisLabel: { color: MUTED, interval: 0 } }),
        series: [{ name: "Loans", type: "bar", data: d.loans },
                 { name: "Copies sold", type: "bar", data: d.sold }]
      }), d.categories.length === 0);
    }],
    "recommender-quality": ["recommender", function (d) {
      var labels = d.runs.map(function (r) {
        var how = r.protocol === "validation"
          ? "validation, " + (r.readers ? r.readers.toLocaleString() + " readers" : "sample") : "leave-one-out";
        return "#" + r.id + " " + r.algorithm + "\n" + how;
      });
      var valueLabel = { show: d.runs.length <= 3, position: "top", color: TEXT, formatter: function (p) {
        return p.value == null ? "" : p.value.toFixed(3);
      } };
      return noData(base({
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: function (v) {
          return v == null ? "–" : v.toFixed(4);
        } },
        xAxis: xAxisStyle({ type: "category", data: labels, axisLabel: { lineHeight: 14 } }),
        yAxis: axisStyle({ type: "value", min: 0 }),
        series: [{ name: "HR@10", type: "bar", label: valueLabel, data: d.runs.map(function (r) { return r["hr@10"]; }) },
                 { name: "NDCG@10", type: "bar", label: valueLabel,
                   data: d.runs.map(function (r) { return r["ndcg@10"]; }) }]
      }), d.runs.length === 0,
      "No measured model run in this period.\nflask train-recs measures NeuMF on its validation readers;\n" +
      "flask train-recs --evaluate compares every model.");
    }],
    "recommender-coverage": ["recommender", function (d) {
      var c = d.coverage;
      return base({
        tooltip: { trigger: "item", formatter: function () {
          return c.books_recommended + " of " + c.books + " books recommended to " + c.readers + " readers";
        } },
        // A half circle: its tick labels stay above the centre line, the caption and value below it.
        series: [{ type: "gauge", min: 0, max: 100, startAngle: 180, endAngle: 0, splitNumber: 4,
                   center: ["50%", "68%"], radius: "95%", progress: { show: true, width: 14 },
                   axisLine: { lineStyle: { width: 14, color: [[1, GRID]] } },
                   axisLabel: { color: MUTED, distance: 22 }, splitLine: { distance: 2, length: 8, lineStyle: { color: MUTED } },
                   axisTick: { show: false }, pointer: { show: false },
                   detail: { valueAnimation: true, formatter: "{value}%", color: TEXT, fontSize: 26, offsetCenter: [0, "-18%"] },
                   title: { color: MUTED, offsetCenter: [0, "22%"] },
                   data: [{ value: Math.round(c.share * 1000) / 10,
                            name: c.model_run ? "of the catalogue (run #" + c.model_run + ")" : "no model yet" }] }]
      });
    }]
  };

  function query() {
    var params = new URLSearchParams();
    if (range.from) { params.set("from", range.from); }
    if (range.to) { params.set("to", range.to); }
    var text = params.toString();
    return text ? "?" + text : "";
  }

  function fetchJSON(view) {
    return fetch(API + view + query(), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.message || response.statusText); }
          return body;
        });
      });
  }

  function showError(message) {
    var box = document.getElementById("range-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function formatCounter(key, value) {
    if (key === "revenue_this_week") {
      return value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    return value.toLocaleString();
  }

  function refresh() {
    var views = {};
    Object.keys(BUILDERS).forEach(function (id) { views[BUILDERS[id][0]] = true; });
    views.summary = true;
    var requests = Object.keys(views).map(function (view) {
      return fetchJSON(view).then(function (body) { return [view, body]; });
    });
    return Promise.all(requests).then(function (answers) {
      var data = {};
      answers.forEach(function (answer) { data[answer[0]] = answer[1].data; });
      Object.keys(BUILDERS).forEach(function (id) {
        charts[id].setOption(BUILDERS[id][1](data[BUILDERS[id][0]]), true);
      });
      document.querySelectorAll("[data-counter]").forEach(function (el) {
        el.textContent = formatCounter(el.dataset.counter, data.summary[el.dataset.counter]);
      });
      var shown = answers[0][1].range;
      document.getElementById("range-from").value = shown.from;
      document.getElementById("range-to").value = shown.to;
      // Figures are shared for a minute: say when the oldest shown was computed (generated_at is UTC).
      var oldest = answers.map(function (answer) { return answer[1].generated_at; }).sort()[0];
      document.getElementById("updated").textContent =
        "Figures as of " + new Date(oldest + "Z").toLocaleTimeString();
      document.body.dataset.loaded = "true";
      showError("");
    }).catch(function (error) { showError(error.message); });
  }

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    charts[el.dataset.chart] = echarts.init(el, null, { renderer: "svg" });
  });
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) { charts[id].resize(); });
  });
  document.getElementById("range-form").addEventListener("submit", function (event) {
    event.preventDefault();
    range.from = document.getElementById("range-from").value;
    range.to = document.getElementById("range-to").value;
    refresh();
  });
  document.getElementById("range-reset").addEventListener("click", function () {
    range = { from: "", to: "" };
    refresh();
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
}());

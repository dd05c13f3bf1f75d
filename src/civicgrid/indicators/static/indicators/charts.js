/* civicgrid indicator charts: the trend line (with the target), the children's ranking bars and
   a choropleth of the children, drawn with the vendored ECharts from data the page embeds with
   json_script. Clicking a bar or a map region opens the same page for that node (drill-down).
   CSP: loaded from 'self'; no inline script or style; maps register local GeoJSON (no tiles).
   The texts it shows come translated from the page (#chart-labels, data-* attributes with
   {placeholders}), so this file holds no words of any language. */
(function () {
  "use strict";

  var ATTAINMENT = {
    met: { fill: "#66bb6a", light: "#c8e6c9" },
    near: { fill: "#ffca28", light: "#fff3c4" },
    off: { fill: "#ef5350", light: "#ffcdd2" },
    none: { fill: "#dde3ea", light: "#dde3ea" }
  };

  // Language-neutral stand-ins, used only if a page forgets #chart-labels.
  var LABELS = {
    empty: "—", target: "{value}", rank: "{rank}.", responsible: "{name}",
    fraction: " ({numerator} / {denominator})", error: "—"
  };

  function readLabels() {
    var element = document.getElementById("chart-labels");
    if (!element) return;
    Object.keys(LABELS).forEach(function (key) {
      var text = element.getAttribute("data-" + key);
      if (text) LABELS[key] = text;
    });
  }

  /* A label with its {name} placeholders filled in. */
  function fill(key, values) {
    return LABELS[key].replace(/\{(\w+)\}/g, function (match, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : match;
    });
  }

  function fraction(item) {
    return item.denominator ? fill("fraction", { numerator: item.numerator, denominator: item.denominator }) : "";
  }

  function suffix(data) { return (data.indicator && data.indicator.suffix) || ""; }

  function mix(a, b, t) {
    var pa = [1, 3, 5].map(function (i) { return parseInt(a.substr(i, 2), 16); });
    var pb = [1, 3, 5].map(function (i) { return parseInt(b.substr(i, 2), 16); });
    return "#" + pa.map(function (x, i) {
      var v = Math.round(x + (pb[i] - x) * t);
      return (v < 16 ? "0" : "") + v.toString(16);
    }).join("");
  }

  /* Colour of a node: with a target, its attainment (green met, amber near, red off); without one,
     a blue scale, deeper for better values (higher or lower, by the indicator's direction). */
  function colorOf(item, range, indicator) {
    if (item.value === null || item.value === undefined) return ATTAINMENT.none.light;
    if (indicator.target !== null && indicator.target !== undefined) {
      return (ATTAINMENT[item.attainment] || ATTAINMENT.none).fill;
    }
    var span = range[1] - range[0];
    var t = span > 0 ? (item.value - range[0]) / span : 1;
    if (indicator.direction === "lower") t = 1 - t;
    return mix("#d6e4f2", "#1f4e79", 0.15 + 0.85 * t);
  }

  function valueRange(items) {
    var values = items.map(function (i) { return i.value; }).filter(function (v) { return v !== null && v !== undefined; });
    if (!values.length) return [0, 1];
    return [Math.min.apply(null, values), Math.max.apply(null, values)];
  }

  function hasValues(items) {
    return items.some(function (i) { return i.value !== null && i.value !== undefined; });
  }

  function empty() {
    return { type: "text", left: "center", top: "middle", silent: true,
             style: { text: LABELS.empty, fill: "#7a8796", fontSize: 14 } };
  }

  function trend(container, data) {
    var points = data.trend || [];
    var target = data.indicator.target;
    var chart = echarts.init(container, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      graphic: hasValues(points) ? [] : [empty()],
      grid: { left: 56, right: 24, top: 28, bottom: 36 },
      tooltip: {
        trigger: "axis", renderMode: "richText",
        formatter: function (params) {
          var p = points[params[0].dataIndex];
          return p.label + "\n" + p.display + fraction(p);
        }
      },
      xAxis: { type: "category", data: points.map(function (p) { return p.label; }), axisLabel: { fontSize: 11 } },
      yAxis: {
        type: "value", axisLabel: { formatter: "{value}" + suffix(data) },
        // Room around the values and the target; a percentage never beyond 100.
        min: function (extent) {
          var step = suffix(data) === "%" ? 10 : 5;
          return Math.max(0, Math.floor((extent.min - (extent.max - extent.min) * 0.25 - 1) / step) * step);
        },
        max: function (extent) {
          var top = Math.ceil(extent.max + (extent.max - extent.min) * 0.1 + 1);
          return suffix(data) === "%" ? Math.min(100, top) : top;
        }
      },
      series: [{
        type: "line", name: data.indicator.name, connectNulls: false, symbolSize: 7,
        data: points.map(function (p) { return p.value; }),
        itemStyle: { color: "#1f4e79" }, lineStyle: { width: 2.5 },
        markLine: target === null ? undefined : {
          silent: true, symbol: "none",
          lineStyle: { color: "#c8102e", type: "dashed" },
          label: { formatter: fill("target", { value: target + suffix(data) }), position: "insideEndTop" },
          data: [{ yAxis: target }]
        }
      }]
    });
    return chart;
  }

  function ranking(container, data) {
    var rows = (data.ranking || []).slice().reverse(); // best at the top of a horizontal bar chart
    var range = valueRange(rows);
    var chart = echarts.init(container, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      graphic: hasValues(rows) ? [] : [empty()],
      grid: { left: 110, right: 70, top: 12, bottom: 28 },
      tooltip: {
        trigger: "item", renderMode: "richText",
        formatter: function (params) {
          var r = rows[params.dataIndex];
          return (r.rank ? fill("rank", { rank: r.rank }) + " " : "") + r.name + "\n" + r.display + fraction(r) +
            (r.responsible ? "\n" + fill("responsible", { name: r.responsible }) : "");
        }
      },
      xAxis: { type: "value", max: suffix(data) === "%" ? 100 : null, axisLabel: { formatter: "{value}" + suffix(data) } },
      yAxis: { type: "category", data: rows.map(function (r) { return r.name; }), axisLabel: { fontSize: 11, width: 100, overflow: "truncate" } },
      series: [{
        type: "bar", barMaxWidth: 22, cursor: "pointer",
        data: rows.map(function (r) {
          return { value: r.value, itemStyle: { color: colorOf(r, range, data.indicator) } };
        }),
        label: { show: true, position: "right", fontSize: 11, formatter: function (p) { return rows[p.dataIndex].display; } },
        markLine: data.indicator.target === null ? undefined : {
          silent: true, symbol: "none", lineStyle: { color: "#c8102e", type: "dashed" },
          label: { show: false }, data: [{ xAxis: data.indicator.target }]
        }
      }]
    });
    chart.on("click", function (params) {
      var r = rows[params.dataIndex];
      if (r && r.url) window.location.assign(r.url);
    });
    return chart;
  }

  function map(container, data) {
    var features = (data.map && data.map.features) || [];
    // The shown node's own outline frames lines and points; with child areas the map fits them instead.
    var childAreas = features.some(function (f) {
      return !f.properties.context && (f.geometry.type === "Polygon" || f.geometry.type === "MultiPolygon");
    });
    if (childAreas) features = features.filter(function (f) { return !f.properties.context; });
    var items = features.filter(function (f) { return !f.properties.context; }).map(function (f) { return f.properties; });
    var range = valueRange(items);
    var byCode = {};
    var areas = [], lines = [], points = [], regions = [];
    function extent(feature) {
      var b = [Infinity, Infinity, -Infinity, -Infinity];
      (function walk(c) {
        if (typeof c[0] === "number") { b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]); return; }
        c.forEach(walk);
      })(feature.geometry.coordinates);
      return (b[2] - b[0]) * (b[3] - b[1]);
    }
    features = features.slice().sort(function (a, b) {
      if (a.properties.context !== b.properties.context) return a.properties.context ? -1 : 1;
      return extent(b) - extent(a);
    });
    // A child area holding another child's centre (a brigade's area over the sub-districts it polices)
    // is drawn first, as a coloured outline without a label, so the smaller areas stay readable.
    function centre(feature) {
      var b = [Infinity, Infinity, -Infinity, -Infinity];
      (function walk(c) {
        if (typeof c[0] === "number") { b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]); return; }
        c.forEach(walk);
      })(feature.geometry.coordinates);
      return { box: b, x: (b[0] + b[2]) / 2, y: (b[1] + b[3]) / 2 };
    }
    var polygons = features.filter(function (f) {
      return !f.properties.context && (f.geometry.type === "Polygon" || f.geometry.type === "MultiPolygon");
    });
    var containers = {};
    polygons.forEach(function (outer) {
      var o = centre(outer).box;
      polygons.forEach(function (inner) {
        if (inner === outer) return;
        var c = centre(inner);
        if (c.x > o[0] && c.x < o[2] && c.y > o[1] && c.y < o[3] && extent(inner) < extent(outer)) containers[outer.properties.code] = true;
      });
    });
    features.forEach(function (feature) {
      var props = feature.properties;
      byCode[props.code] = props;
      var color = props.context ? "rgba(31,78,121,0.05)" : colorOf(props, range, data.indicator);
      var g = feature.geometry;
      if (g.type === "Polygon" || g.type === "MultiPolygon") {
        areas.push(feature);
        regions.push(props.context
          ? { name: props.code, silent: true, itemStyle: { areaColor: color, borderColor: "#1f4e79", borderType: "dashed", borderWidth: 2 }, label: { show: false }, emphasis: { disabled: true } }
          : containers[props.code]
            ? { name: props.code, itemStyle: { areaColor: color, opacity: 0.35, borderColor: color, borderWidth: 3, borderType: "dashed" },
                label: { show: false } }
            : { name: props.code, itemStyle: { areaColor: color, borderColor: "#ffffff", borderWidth: 1.2 },
                label: { show: true, formatter: props.name + "\n" + props.display, fontSize: 11, color: "#1d2733" } });
      } else if (g.type === "LineString" || g.type === "MultiLineString") {
        (g.type === "LineString" ? [g.coordinates] : g.coordinates).forEach(function (path) {
          lines.push({ name: props.code, coords: path, lineStyle: { color: props.context ? "#9aabbd" : color, width: props.context ? 2 : 5 } });
        });
      } else if (g.type === "Point" || g.type === "MultiPoint") {
        (g.type === "Point" ? [g.coordinates] : g.coordinates).forEach(function (spot) {
          points.push({ name: props.code, value: [spot[0], spot[1]], itemStyle: { color: color, borderColor: "#1d2733", borderWidth: 0.5 } });
        });
      }
    });
    if (!areas.length) {
      var b = [Infinity, Infinity, -Infinity, -Infinity];
      (function walk(c) {
        if (typeof c[0] === "number") { b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]); return; }
        c.forEach(walk);
      })(features.map(function (f) { return f.geometry.coordinates; }));
      var px = Math.max((b[2] - b[0]) * 0.15, 0.003), py = Math.max((b[3] - b[1]) * 0.15, 0.003);
      areas.push({ type: "Feature", properties: { code: "__frame__" }, geometry: { type: "Polygon", coordinates: [[[b[0] - px, b[1] - py], [b[2] + px, b[1] - py], [b[2] + px, b[3] + py], [b[0] - px, b[3] + py], [b[0] - px, b[1] - py]]] } });
      regions.push({ name: "__frame__", silent: true, itemStyle: { areaColor: "rgba(0,0,0,0)", borderColor: "rgba(0,0,0,0)" }, label: { show: false } });
    }
    var mapName = "civicgrid-indicator-" + (container.id || "map");
    echarts.registerMap(mapName, { type: "FeatureCollection", features: areas });
    var chart = echarts.init(container, null, { renderer: "canvas" });

    function describe(code) {
      var p = byCode[code];
      if (!p || p.context) return p ? p.name : "";
      return p.name + "\n" + p.display + fraction(p);
    }

    chart.setOption({
      animation: false,
      tooltip: { trigger: "item", renderMode: "richText", formatter: function (params) { return describe(params.name); } },
      geo: {
        map: mapName, nameProperty: "code", roam: true, layoutCenter: ["50%", "50%"], layoutSize: "94%",
        itemStyle: { areaColor: "#dde3ea", borderColor: "#ffffff" },
        emphasis: { itemStyle: { areaColor: "#ffe082" }, label: { show: true } },
        select: { disabled: true }, regions: regions
      },
      series: [
        { type: "map", geoIndex: 0, data: items.map(function (p) { return { name: p.code, value: p.value }; }) },
        { type: "lines", coordinateSystem: "geo", polyline: true, zlevel: 1, data: lines, emphasis: { lineStyle: { width: 7 } } },
        { type: "scatter", coordinateSystem: "geo", zlevel: 2, symbolSize: 13, data: points,
          label: { show: true, position: "right", fontSize: 11, color: "#1d2733",
                   formatter: function (p) { var q = byCode[p.name] || {}; return q.name ? q.name + " " + q.display : ""; } } }
      ]
    });
    chart.on("click", function (params) {
      var p = byCode[params.name] || (params.data && byCode[params.data.name]);
      if (p && p.url) window.location.assign(p.url);
    });
    return chart;
  }

  var DRAW = { trend: trend, ranking: ranking, map: map };

  function start() {
    if (typeof echarts === "undefined") return;
    readLabels();
    var charts = [];
    var containers = document.querySelectorAll("[data-chart]");
    for (var i = 0; i < containers.length; i++) {
      var container = containers[i];
      var source = document.getElementById(container.getAttribute("data-source"));
      var draw = DRAW[container.getAttribute("data-chart")];
      if (!source || !draw) continue;
      try {
        var data = JSON.parse(source.textContent);
        if (data && data.indicator) charts.push(draw(container, data));
      } catch (error) {
        container.textContent = container.getAttribute("data-error") || LABELS.error;
        if (window.console) window.console.error(error);
      }
    }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

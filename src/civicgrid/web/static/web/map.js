/* civicgrid territory map: draws the GeoJSON a page embeds with json_script, on an ECharts `geo`
   component registered locally (no tile server, works offline). Polygons are map areas, lines are a
   `lines` series, points a `scatter` series; clicking any of them opens the node's page.
   CSP: loaded from 'self'; no inline script, no inline style attributes (tooltips render in canvas). */
(function () {
  "use strict";

  var COLORS = {
    covered: { area: "#c8e6c9", border: "#2e7d32" },
    gap: { area: "#ffcdd2", border: "#c62828" },
    none: { area: "#dde7f1", border: "#5b7a99" },
    focus: { area: "#fff3c4", border: "#b8860b" },
    context: { area: "rgba(91,122,153,0.06)", border: "#9aabbd" },
    marker: { area: "#1f4e79", border: "#ffffff" }
  };

  function colorsOf(status) {
    return COLORS[status] || COLORS.none;
  }

  function extendBounds(bounds, coordinates) {
    if (typeof coordinates[0] === "number") {
      bounds[0] = Math.min(bounds[0], coordinates[0]);
      bounds[1] = Math.min(bounds[1], coordinates[1]);
      bounds[2] = Math.max(bounds[2], coordinates[0]);
      bounds[3] = Math.max(bounds[3], coordinates[1]);
      return;
    }
    for (var i = 0; i < coordinates.length; i++) extendBounds(bounds, coordinates[i]);
  }

  /* An invisible rectangle around everything: the geo component needs at least one area to lay
     out lines and points when the shown nodes have no polygon. */
  function frameFeature(features) {
    var bounds = [Infinity, Infinity, -Infinity, -Infinity];
    features.forEach(function (feature) { extendBounds(bounds, feature.geometry.coordinates); });
    var padX = Math.max((bounds[2] - bounds[0]) * 0.15, 0.003);
    var padY = Math.max((bounds[3] - bounds[1]) * 0.15, 0.003);
    var x0 = bounds[0] - padX, y0 = bounds[1] - padY, x1 = bounds[2] + padX, y1 = bounds[3] + padY;
    return {
      type: "Feature",
      properties: { code: "__frame__", name: "" },
      geometry: { type: "Polygon", coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] }
    };
  }

  function build(container, collection) {
    var features = (collection.features || []).filter(function (f) { return f && f.geometry; });
    var areas = [], lines = [], points = [], byCode = {};

    features.forEach(function (feature) {
      var props = feature.properties || {};
      var geometry = feature.geometry;
      var colors = colorsOf(props.status);
      byCode[props.code] = props;
      if (geometry.type === "Polygon" || geometry.type === "MultiPolygon") {
        areas.push(feature);
      } else if (geometry.type === "LineString" || geometry.type === "MultiLineString") {
        var paths = geometry.type === "LineString" ? [geometry.coordinates] : geometry.coordinates;
        paths.forEach(function (path) {
          lines.push({
            name: props.code,
            coords: path,
            lineStyle: props.status === "context"
              ? { color: colors.border, width: 3, type: "dashed", opacity: 0.8 }
              : { color: colors.border }
          });
        });
      } else if (geometry.type === "Point" || geometry.type === "MultiPoint") {
        var spots = geometry.type === "Point" ? [geometry.coordinates] : geometry.coordinates;
        spots.forEach(function (spot) {
          points.push({
            name: props.code,
            value: [spot[0], spot[1]],
            symbol: props.status === "marker" ? "pin" : "circle",
            symbolSize: props.status === "marker" ? 26 : 11,
            itemStyle: { color: props.status === "marker" ? colors.area : colors.border, borderColor: "#fff", borderWidth: 1 }
          });
        });
      }
    });

    var hasFrame = false;
    if (!areas.length) {
      areas.push(frameFeature(features));
      hasFrame = true;
    }

    var mapName = "civicgrid-" + (container.id || "map");
    echarts.registerMap(mapName, { type: "FeatureCollection", features: areas });

    var regions = areas.map(function (feature) {
      var props = feature.properties;
      if (props.code === "__frame__") {
        return { name: props.code, silent: true, itemStyle: { areaColor: "rgba(0,0,0,0)", borderColor: "rgba(0,0,0,0)" },
                 label: { show: false }, emphasis: { disabled: true } };
      }
      var colors = colorsOf(props.status);
      if (props.status === "context") {
        return { name: props.code, itemStyle: { areaColor: colors.area, borderColor: colors.border, borderType: "dotted" },
                 label: { show: false } };
      }
      if (props.is_parent) {
        // Its children are drawn on top: show it as an outline, labelled by them, not by itself.
        return {
          name: props.code,
          itemStyle: { areaColor: "rgba(31,78,121,0.04)", borderColor: props.status === "focus" ? colors.border : "#1f4e79",
                       borderWidth: 2.5, borderType: "dashed" },
          label: { show: false },
          emphasis: { itemStyle: { areaColor: "rgba(31,78,121,0.10)" }, label: { show: false } }
        };
      }
      return {
        name: props.code,
        itemStyle: {
          areaColor: colors.area,
          borderColor: colors.border,
          borderWidth: props.status === "focus" ? 2.5 : 1.2
        },
        label: { show: true, formatter: props.name, color: "#1d2733", fontSize: 12 }
      };
    });

    function describe(code) {
      var props = byCode[code];
      if (!props) return "";
      return props.kind ? props.name + "\n" + props.kind : props.name;
    }

    var chart = echarts.init(container, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: {
        trigger: "item",
        renderMode: "richText",
        formatter: function (params) { return describe(params.name); }
      },
      geo: {
        map: mapName,
        nameProperty: "code",
        roam: true,
        layoutCenter: ["50%", "50%"],
        layoutSize: "92%",
        itemStyle: { areaColor: "#dde7f1", borderColor: "#5b7a99" },
        emphasis: { itemStyle: { areaColor: "#ffe082" }, label: { show: true } },
        select: { disabled: true },
        label: { show: !hasFrame },
        regions: regions
      },
      series: [
        {
          type: "map",
          geoIndex: 0,
          data: areas.filter(function (f) { return f.properties.code !== "__frame__"; })
            .map(function (f) { return { name: f.properties.code, value: 1 }; })
        },
        {
          type: "lines",
          coordinateSystem: "geo",
          polyline: true,
          zlevel: 1,
          lineStyle: { width: 4, opacity: 0.9 },
          emphasis: { lineStyle: { width: 6 } },
          data: lines
        },
        {
          type: "scatter",
          coordinateSystem: "geo",
          zlevel: 2,
          label: {
            show: true,
            position: "right",
            formatter: function (params) { return (byCode[params.name] || {}).name || ""; },
            color: "#1d2733",
            fontSize: 11
          },
          data: points
        }
      ]
    });

    chart.on("click", function (params) {
      var props = byCode[params.name];
      if (props && props.url) window.location.assign(props.url);
    });
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  }

  function start() {
    if (typeof echarts === "undefined") return;
    var containers = document.querySelectorAll("[data-map]");
    for (var i = 0; i < containers.length; i++) {
      var container = containers[i];
      var source = document.getElementById(container.getAttribute("data-map"));
      if (!source) continue;
      try {
        build(container, JSON.parse(source.textContent));
      } catch (error) {
        container.classList.add("map-empty");
        container.textContent = container.getAttribute("data-error") || "地图加载失败";
        if (window.console) window.console.error(error);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// twin console: the network map (Leaflet, served by this console; no tiles, nothing fetched
// from outside). Every div.livemap draws the land and the network from its data-land and
// data-network addresses; data-old / data-new (lane ids) highlight an incident's routes.
(function () {
  "use strict";
  if (!window.L) return;
  var KIND_RANK = { chokepoint: 0, port: 1, airport: 2, rail_terminal: 3, border: 4, warehouse: 5, origin: 6 };

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(url + " answered " + r.status);
      return r.json();
    });
  }

  function ids(text) {
    return new Set((text || "").split(",").filter(function (s) { return s; }));
  }

  function laneStyle(p, oldLanes, newLanes, focus) {
    if (focus) {
      if (newLanes.has(p.id)) return { color: "#15803d", weight: 4, opacity: 0.95, dashArray: null };
      if (oldLanes.has(p.id)) return { color: "#b91c1c", weight: 3.5, opacity: 0.9, dashArray: "7 6" };
      return { color: "#94a3b8", weight: 1, opacity: 0.35, dashArray: null };
    }
    return {
      color: p.colour, weight: 1.2 + 3 * p.risk, opacity: 0.85,
      dashArray: p.mode === "air" ? "4 4" : null
    };
  }

  // Labels that would overlap a more important one are hidden (not removed: they come back
  // when zooming in gives them room). Measured in screen pixels after every move and zoom.
  function declutter(labels) {
    var kept = [];
    labels.forEach(function (item) {
      var tip = item.marker.getTooltip();
      var el = tip && tip.getElement();
      if (!el) return;
      el.classList.remove("clash");
      var r = el.getBoundingClientRect();
      var clash = kept.some(function (k) {
        return !(r.right <= k.left || r.left >= k.right || r.bottom <= k.top || r.top >= k.bottom);
      });
      if (clash) el.classList.add("clash");
      else kept.push(r);
    });
  }

  function draw(box) {
    var oldLanes = ids(box.dataset.old), newLanes = ids(box.dataset.new);
    var focus = oldLanes.size + newLanes.size > 0;
    return Promise.all([getJSON(box.dataset.land), getJSON(box.dataset.network)]).then(function (docs) {
      var land = docs[0], net = docs[1];
      var map = L.map(box, { minZoom: 1, maxZoom: 10, zoomSnap: 0.5, worldCopyJump: false });
      map.setView([20, 40], 2); // vector layers need a view before they are added
      map.attributionControl.setPrefix(false);
      map.attributionControl.addAttribution("Land: Natural Earth (public domain) · sea paths: searoute");
      L.geoJSON(land, {
        interactive: false,
        style: { color: "#b9b9a8", weight: 0.6, fillColor: "#e2e2d8", fillOpacity: 1 }
      }).addTo(map);
      var lanes = {}, highlighted = [], places = [];
      net.features.filter(function (f) { return f.properties.kind === "lane"; })
        .sort(function (a, b) {
          var fa = focus && (newLanes.has(a.properties.id) || oldLanes.has(a.properties.id));
          var fb = focus && (newLanes.has(b.properties.id) || oldLanes.has(b.properties.id));
          return (fa - fb) || (a.properties.risk - b.properties.risk);
        })
        .forEach(function (f) {
          var p = f.properties;
          var line = L.polyline(f.geometry.coordinates.map(function (c) { return [c[1], c[0]]; }),
            laneStyle(p, oldLanes, newLanes, focus)).addTo(map);
          line.bindTooltip(p.places + ", " + p.mode + " " + p.days + " d · lane " + p.id +
            " · risk " + p.risk.toFixed(2), { sticky: true });
          var el = line.getElement();
          if (el) { el.setAttribute("data-lane", p.id); el.classList.add("lane"); }
          lanes[p.id] = line;
          if (focus && (newLanes.has(p.id) || oldLanes.has(p.id))) highlighted.push(line);
        });
      var onRoute = new Set();
      highlighted.forEach(function (line) {
        line.getLatLngs().forEach(function (ll) { places.push(ll); });
      });
      var labels = [];
      net.features.filter(function (f) { return f.properties.kind === "node"; }).forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        var marker = L.circleMarker([c[1], c[0]], {
          radius: p.node_kind === "chokepoint" ? 5 : 3.5, color: "#fff", weight: 1,
          fillColor: p.colour, fillOpacity: 1
        }).addTo(map);
        marker.bindTooltip(p.name, {
          permanent: true, direction: "right", offset: [6, 0], className: "maplabel", opacity: 1
        });
        var near = focus && highlighted.some(function (line) {
          return line.getBounds().pad(0.01).contains([c[1], c[0]]);
        });
        if (near) onRoute.add(p.id);
        labels.push({ marker: marker, rank: [near ? 0 : 1, -p.risk, KIND_RANK[p.node_kind] || 9] });
        if (!focus) places.push([c[1], c[0]]);
      });
      labels.sort(function (a, b) {
        for (var i = 0; i < a.rank.length; i++) if (a.rank[i] !== b.rank[i]) return a.rank[i] - b.rank[i];
        return 0;
      });
      if (places.length) map.fitBounds(L.latLngBounds(places).pad(0.08));
      var tidy = function () { declutter(labels); };
      map.on("zoomend moveend", tidy);
      tidy();
      box.dataset.ready = "yes";
      // Live updates: re-colour the lanes by their current risk.
      document.addEventListener("twin:refreshed", function () {
        if (!box.isConnected) return;  // swapped out by a refresh that changed its routes
        getJSON(box.dataset.network).then(function (fresh) {
          fresh.features.forEach(function (f) {
            var line = lanes[f.properties.id];
            if (line) line.setStyle(laneStyle(f.properties, oldLanes, newLanes, focus));
          });
        }).catch(function () {});
      });
    });
  }

  function drawNew() {
    document.querySelectorAll("div.livemap:not([data-ready]):not(.failed)").forEach(function (box) {
      box.dataset.ready = "drawing";
      draw(box).catch(function (error) {
        box.classList.add("failed");
        box.textContent = "The map could not be drawn: " + error.message;
      });
    });
  }
  drawNew();
  // A live refresh may bring a map whose routes changed: it arrives undrawn.
  document.addEventListener("twin:refreshed", drawNew);
})();

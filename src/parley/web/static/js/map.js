/* The offline base map: Natural Earth countries (world-atlas, TopoJSON) drawn by Leaflet as a
   local GeoJSON layer. No tile server: the map works on an air-gapped network. */
"use strict";

const ParleyMap = (() => {
  const EAST_ASIA = [[15, 95], [55, 165]];
  const SEVERITY_COLOURS = {
    "sev-extreme": "#8e0000", "sev-severe": "#d84315", "sev-moderate": "#f9a825",
    "sev-minor": "#1565c0", "sev-unknown": "#546e7a",
  };

  let countries = null;
  async function baseLayer() {
    if (!countries) {
      const answer = await fetch("/static/vendor/world-atlas-2.0.2/countries-50m.json");
      const topology = await answer.json();
      countries = topojson.feature(topology, topology.objects.countries);
    }
    return L.geoJSON(countries, {
      style: { color: "#8a9aa8", weight: 0.6, fillColor: "#eef1f4", fillOpacity: 1 },
      interactive: false,
    });
  }

  /* The map at once, and the promise of its base layer: a page fetches its own data meanwhile.
     ``options`` (Leaflet's) override the defaults, e.g. SVG for paper. */
  function start(element, options) {
    const map = L.map(element, {
      preferCanvas: true, attributionControl: false, worldCopyJump: true,
      minZoom: 1, maxZoom: 12, zoomSnap: 0.25, ...(options || {}),
    });
    map.getContainer().style.background = "#b9d3e6";
    map.fitBounds(EAST_ASIA);
    const base = baseLayer().then((layer) => { layer.addTo(map); layer.bringToBack(); return map; });
    return { map, base };
  }

  async function create(element, options) {
    return start(element, options).base;
  }

  function colour(severity) {
    return SEVERITY_COLOURS[Parley.severityClass(severity)];
  }

  /* One area feature (from /api/v1/notifications/areas or a body's areas) as a Leaflet layer. */
  function areaLayer(feature) {
    const props = feature.properties || {};
    const ended = props.msg_type === "Cancel";
    const style = {
      color: colour(props.severity), weight: 2, fillOpacity: ended ? 0.05 : 0.25,
      dashArray: ended || props.status !== "Actual" ? "6 4" : null,
    };
    if (feature.geometry && feature.geometry.type === "Point") {
      const [lon, lat] = feature.geometry.coordinates;
      const point = props.radius_km
        ? L.circle([lat, lon], { ...style, radius: props.radius_km * 1000 })
        : L.circleMarker([lat, lon], { ...style, radius: 6 });
      point.feature = feature;
      return point;
    }
    if (!feature.geometry) return null; // an area of geocodes only: nothing to draw
    const layer = L.GeoJSON.geometryToLayer(feature); // one Polygon, without a group around it
    layer.setStyle(style);
    layer.feature = feature;
    return layer;
  }

  return { start, create, areaLayer, colour, EAST_ASIA };
})();

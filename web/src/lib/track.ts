// A location track drawn without map tiles (no internet is assumed): the points projected
// equirectangularly into an SVG, scaled to their bounds with the aspect kept, start and end marked,
// and a text summary for screen readers.
import {h} from './dom';

export interface TrackPoint {
  time: string;
  latitude: number;
  longitude: number;
}

const svgNs = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
  return node;
}

/// Great-circle distance in km (haversine).
export function distanceKm(a: TrackPoint, b: TrackPoint): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 12742 * Math.asin(Math.min(1, Math.sqrt(s)));
}

export function drawTrack(points: TrackPoint[]): HTMLElement {
  if (points.length === 0) return h('p', {}, 'No positions recorded in this range.');
  const width = 640;
  const height = 480;
  const pad = 24;
  const lats = points.map((p) => p.latitude);
  const lons = points.map((p) => p.longitude);
  const minLat = Math.min(...lats), maxLat = Math.max(...lats);
  const minLon = Math.min(...lons), maxLon = Math.max(...lons);
  // Longitude degrees shrink with latitude: scale x by cos(mid latitude) so shapes are not stretched.
  const k = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const spanX = Math.max((maxLon - minLon) * k, 1e-4);
  const spanY = Math.max(maxLat - minLat, 1e-4);
  const scale = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  // Centred on the middle of the bounds (a single position sits in the middle).
  const midLat = (minLat + maxLat) / 2;
  const midLon = (minLon + maxLon) / 2;
  const x = (p: TrackPoint) => width / 2 + (p.longitude - midLon) * k * scale;
  const y = (p: TrackPoint) => height / 2 - (p.latitude - midLat) * scale;
  let km = 0;
  for (let i = 1; i < points.length; i++) km += distanceKm(points[i - 1], points[i]);
  const first = points[0];
  const last = points[points.length - 1];
  const summary = `${points.length} positions over ${km.toFixed(1)} km, from ${first.latitude.toFixed(5)}, ` +
    `${first.longitude.toFixed(5)} to ${last.latitude.toFixed(5)}, ${last.longitude.toFixed(5)}`;
  const root = svg('svg', {viewBox: `0 0 ${width} ${height}`, class: 'track', role: 'img', 'aria-label': `Track: ${summary}`});
  root.append(svg('polyline', {
    points: points.map((p) => `${x(p).toFixed(1)},${y(p).toFixed(1)}`).join(' '),
    fill: 'none', stroke: '#0b5394', 'stroke-width': 2, 'stroke-linejoin': 'round',
  }));
  root.append(svg('circle', {cx: x(first), cy: y(first), r: 6, fill: '#1e6b30'}));
  root.append(svg('circle', {cx: x(last), cy: y(last), r: 6, fill: '#a61c00'}));
  return h('figure', {}, root, h('figcaption', {class: 'muted'}, `${summary}. Green: first position, red: latest.`));
}

// scatter.js — a small SVG scatter plot of a search's metric against one of
// its parameters: a point per trial that has a metric, the best one marked.
// SVG built node by node (createElementNS), as dom.js builds HTML.

import {num} from './format.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 320;
const H = 190;
const PAD = {left: 52, right: 12, top: 10, bottom: 30};

export function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

/**
 * A scale from [lo, hi] (log10 when log) to [a, b]; a single value maps to the middle.
 * @return v → position
 */
export function scale(lo, hi, a, b, log = false) {
  const f = log ? Math.log10 : (v) => v;
  const l = f(lo);
  const span = f(hi) - l;
  return (v) => (span > 0 ? a + ((f(v) - l) / span) * (b - a) : (a + b) / 2);
}

/**
 * @param points [{trial, x (a number, or a string: a category), y}]
 * @param best   the best trial's index, or null
 * @param logX   a log-scale x (a loguniform parameter)
 */
export function scatter({points, best = null, logX = false, label}) {
  const cats = [...new Set(points.filter((p) => typeof p.x !== 'number').map((p) => String(p.x)))]
    .sort();
  const xOf = (p) => (typeof p.x === 'number' ? p.x : cats.indexOf(String(p.x)));
  const xs = points.map(xOf);
  const ys = points.map((p) => p.y);
  const log = logX && xs.every((v) => v > 0);
  const sx = scale(Math.min(...xs), Math.max(...xs), PAD.left, W - PAD.right, log);
  const sy = scale(Math.min(...ys), Math.max(...ys), H - PAD.bottom, PAD.top);
  const text = (x, y, anchor, s) => el('text', {x, y, 'text-anchor': anchor, class: 'scatter-tick'}, s);
  const tick = (v) => (cats.length > 0 ? cats[v] ?? '' : num(v, 3));
  const svg = el('svg', {viewBox: `0 0 ${W} ${H}`, class: 'scatter', role: 'img',
    'aria-label': label, 'data-param': label},
  el('line', {x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom,
    class: 'scatter-axis'}),
  el('line', {x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom, class: 'scatter-axis'}));
  if (points.length > 0) {
    svg.append(
      text(PAD.left, H - 10, 'start', tick(Math.min(...xs))),
      text(W - PAD.right, H - 10, 'end', tick(Math.max(...xs))),
      text(PAD.left - 6, H - PAD.bottom, 'end', num(Math.min(...ys), 3)),
      text(PAD.left - 6, PAD.top + 8, 'end', num(Math.max(...ys), 3)));
  }
  svg.append(text((PAD.left + W - PAD.right) / 2, H - 10, 'middle', label));
  points.forEach((p, i) => {
    const isBest = p.trial === best;
    svg.append(el('circle', {cx: sx(xs[i]), cy: sy(p.y), r: isBest ? 6 : 4,
      class: isBest ? 'scatter-point best' : 'scatter-point', 'data-trial': p.trial,
      'data-x': String(p.x), 'data-y': p.y},
    el('title', {}, `trial ${p.trial}: ${p.x}, ${num(p.y)}`)));
  });
  return svg;
}

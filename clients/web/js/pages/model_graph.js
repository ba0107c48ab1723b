// pages/model_graph.js — the model page's graph: the model drawn as a
// layered DAG (graph_layout.js) in SVG, input on the left, loss on the
// right, each edge's arrow pointing the way the gradient flows (backward).
//
// Nodes and edges are coloured by gradient magnitude on a log scale (the
// legend gives its ends): either an epoch of one of the model's jobs (GET
// /v1/jobs/{id}/metrics rows' `layers[].grad_norm`, the norm of a dense
// layer's parameter gradient; the scale spans every epoch of the job, so the
// slider shows the gradients grow or fade) or a trace (model_trace.js: each
// node's dL/dvalue norm). An edge carries back the gradient of the node it
// leaves, so it takes that node's colour. Clicking a node opens its part of
// the trace in the panel beside the graph.

import {get} from '../api.js';
import {h, replace} from '../dom.js';
import {num} from '../format.js';
import {el as svg, scale} from '../scatter.js';
import {layout, specNodes, traceNodes} from './graph_layout.js';
import {nodePanel, traceForm} from './model_trace.js';

const NODE_W = 124;
const NODE_H = 44;
const COLUMN = 152; // from a column's left to the next one's
const FIT = 12;     // columns that shrink to the card's width; more scroll
const ROW = 70;
const PAD = 12;
const NONE = '#f1f5f9'; // no magnitude for this node
// Sequential, light to dark (ColorBrewer YlOrRd): the lightness falls
// steadily, so a larger gradient is always a darker node.
const RAMP = ['#ffffcc', '#ffeda0', '#fed976', '#feb24c', '#fd8d3c', '#fc4e2a', '#e31a1c',
  '#bd0026', '#800026'];

/** The ramp's colour at level t in [0, 1], interpolated between its stops. */
export function rampColour(t) {
  const x = Math.max(0, Math.min(1, t)) * (RAMP.length - 1);
  const k = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - k;
  const rgb = (s) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
  const [a, b] = [rgb(RAMP[k]), rgb(RAMP[k + 1])];
  return `rgb(${a.map((c, i) => Math.round(c + (b[i] - c) * f)).join(', ')})`;
}

/**
 * @param m    the model (GET /v1/models/{id})
 * @param jobs the jobs that trained it (GET /v1/jobs?model=id)
 * @return the card's content
 */
export function graphView(m, jobs) {
  const width = m.spec.inputs ?? (m.encoding ? m.encoding.width : null);
  const nodes = specNodes(m.spec, width);
  const dense = nodes.filter((n) => n.op === 'dense');
  const outputs = dense.length ? dense[dense.length - 1].shape[0] : 1;
  let graph = layout(nodes);
  let trace = null;
  let rows = [];      // the chosen job's metrics rows that carry layers
  let domain = null;  // [lo, hi] of the chosen job's positive grad norms
  let selected = null;

  const canvas = h('div', {class: 'graph-canvas'});
  const legend = h('div', {class: 'graph-legend', id: 'graph-legend'});
  const panel = h('div', {class: 'graph-panel', id: 'graph-panel'},
    h('p', {class: 'muted small'}, 'Trace an example, then click a node to see what flowed ' +
      'forward through it, what flowed back and why.'));
  const job = h('select', {id: 'graph-job'}, jobs.map((j) =>
    h('option', {value: String(j.id), selected: j.id === m.last_job}, `job #${j.id}`)));
  const epoch = h('input', {type: 'range', id: 'graph-epoch', min: 0, max: 0, step: 1, value: 0});
  const epochText = h('span', {id: 'graph-epoch-label', class: 'mono small'});
  const colourBy = h('select', {id: 'graph-colour'},
    h('option', {value: 'epoch'}, 'an epoch of training'),
    h('option', {value: 'trace', disabled: true}, 'the trace'));
  const controls = h('div', {class: 'graph-controls'},
    h('label', {}, 'Colour by ', colourBy),
    jobs.length ? [h('label', {}, 'Job ', job), h('label', {}, 'Epoch ', epoch, ' ', epochText)]
      : h('span', {class: 'muted small'}, 'No job has trained this model yet.'));

  /** name → gradient magnitude (or null), and the scale's [lo, hi]. */
  function magnitudes() {
    const out = new Map();
    if (colourBy.value === 'trace' && trace) {
      for (const n of trace.nodes) out.set(n.name, n.grad ? n.grad.norm : null);
      const pos = [...out.values()].filter((v) => v > 0);
      return {out, lo: pos.length ? Math.min(...pos) : null, hi: pos.length ? Math.max(...pos) : null,
        what: 'dL/dvalue norm, this trace'};
    }
    const row = rows[Number(epoch.value)];
    if (!row) return {out, lo: null, hi: null, what: 'no per-layer gradients recorded'};
    for (const l of row.layers) { // a graph model's rows name their node
      const n = graph.nodes.find((x) => (l.node !== undefined ? x.name === l.node
        : x.op === 'dense' && x.layer === l.layer));
      if (n && l.grad_norm !== null) out.set(n.name, l.grad_norm);
    }
    return {out, lo: domain[0], hi: domain[1],
      what: `dense layers' parameter gradient norm, epoch ${row.epoch} of job #${job.value}`};
  }

  function draw() {
    const {out, lo, hi, what} = magnitudes();
    const level = lo > 0 && hi > 0 ? scale(lo, hi, 0, 1, true) : () => 0.5;
    const look = (name) => {
      const v = out.get(name);
      if (v === undefined || v === null) return {fill: NONE, v: null, t: null};
      const t = v > 0 ? Math.max(0, level(v)) : 0;
      return {fill: rampColour(t), v, t};
    };
    const at = (n) => ({x: PAD + n.column * COLUMN, y: PAD + (n.row + n.offset) * ROW});
    const W = PAD * 2 + (graph.columns - 1) * COLUMN + NODE_W;
    const H = PAD * 2 + (graph.rows - 1) * ROW + NODE_H;
    const pic = svg('svg', {id: 'graph', class: graph.columns <= FIT ? 'fit' : '', width: W, height: H, viewBox: `0 0 ${W} ${H}`,
      role: 'img', 'aria-label': 'the model as a graph, the gradient flowing right to left'},
    svg('defs', {}, svg('marker', {id: 'graph-arrow', viewBox: '0 0 10 10', refX: 10, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse'},
    svg('path', {d: 'M 0 0 L 10 5 L 0 10 z', fill: '#475569'}))));
    const byName = new Map(graph.nodes.map((n) => [n.name, n]));
    for (const e of graph.edges) {
      const a = at(byName.get(e.from));
      const b = at(byName.get(e.to));
      const [x1, y1, x2, y2] = [a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2];
      const c = look(e.from);
      pic.append(svg('path', {class: 'graph-edge', 'data-from': e.from, 'data-to': e.to,
        d: `M ${x1} ${y1} C ${(x1 + x2) / 2} ${y1}, ${(x1 + x2) / 2} ${y2}, ${x2} ${y2}`,
        fill: 'none', stroke: c.v === null ? '#cbd5e1' : c.fill, 'stroke-width': 3,
        'marker-start': 'url(#graph-arrow)', 'data-magnitude': c.v ?? ''}));
    }
    for (const n of graph.nodes) {
      const p = at(n);
      const c = look(n.name);
      const shape = n.shape && n.shape.length ? ` [${n.shape.join('×')}]` : '';
      const ink = c.t !== null && c.t > 0.55 ? '#ffffff' : '#0f172a';
      const g = svg('g', {class: `graph-node${n.name === selected ? ' selected' : ''}`,
        'data-node': n.name, 'data-op': n.op, 'data-magnitude': c.v ?? '',
        'data-level': c.t ?? '', transform: `translate(${p.x} ${p.y})`, tabindex: 0},
      svg('rect', {width: NODE_W, height: NODE_H, rx: 8, fill: c.fill}),
      svg('text', {x: NODE_W / 2, y: 18, 'text-anchor': 'middle', fill: ink,
        class: 'graph-name'}, n.name),
      svg('text', {x: NODE_W / 2, y: 34, 'text-anchor': 'middle', fill: ink,
        class: 'graph-op'}, n.op + shape),
      svg('title', {}, c.v === null ? n.name : `${n.name}: ${c.v}`));
      g.addEventListener('click', () => open(n.name));
      g.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') open(n.name);
      });
      pic.append(g);
    }
    replace(canvas, pic);
    const bar = svg('svg', {width: 160, height: 12, class: 'graph-ramp'},
      svg('defs', {}, svg('linearGradient', {id: 'graph-ramp'}, ...RAMP.map((s, i) =>
        svg('stop', {offset: i / (RAMP.length - 1), 'stop-color': s})))),
      svg('rect', {width: 160, height: 12, rx: 3, fill: 'url(#graph-ramp)'}));
    replace(legend, h('span', {class: 'muted small'}, 'gradient magnitude (log): '),
      h('span', {class: 'mono small', 'data-end': 'lo', 'data-value': lo}, lo > 0 ? num(lo) : '—'),
      ' ', bar, ' ',
      h('span', {class: 'mono small', 'data-end': 'hi', 'data-value': hi}, hi > 0 ? num(hi) : '—'),
      h('span', {class: 'muted small'}, ` · ${what}; grey: none`));
  }

  function open(name) {
    selected = name;
    for (const g of canvas.querySelectorAll('.graph-node')) {
      g.classList.toggle('selected', g.dataset.node === name);
    }
    if (!trace) return;
    const next = graph.edges.filter((e) => e.from === name && e.to !== 'loss').map((e) => e.to);
    replace(panel, nodePanel(trace, name, next));
  }

  async function loadJob() {
    rows = [];
    domain = null;
    if (!job.value) return draw();
    try {
      const {metrics} = await get(`/v1/jobs/${job.value}/metrics`);
      rows = metrics.filter((r) => Array.isArray(r.layers));
    } catch (err) {
      replace(legend, h('span', {class: 'alert'}, err.message));
      return;
    }
    const norms = rows.flatMap((r) => r.layers.map((l) => l.grad_norm)).filter((v) => v > 0);
    domain = norms.length ? [Math.min(...norms), Math.max(...norms)] : [null, null];
    epoch.max = String(Math.max(0, rows.length - 1));
    epoch.value = epoch.max;
    epoch.disabled = rows.length === 0;
    epochText.textContent = rows.length ? `${rows[rows.length - 1].epoch}` : 'none';
    colourBy.value = 'epoch';
    draw();
  }

  job.addEventListener('change', loadJob);
  epoch.addEventListener('input', () => {
    const row = rows[Number(epoch.value)];
    epochText.textContent = row ? String(row.epoch) : 'none';
    colourBy.value = 'epoch';
    draw();
  });
  colourBy.addEventListener('change', draw);

  const form = traceForm(m, outputs, (answer) => {
    trace = answer;
    graph = layout(traceNodes(answer));
    colourBy.options[1].disabled = false;
    colourBy.value = 'trace';
    draw();
    open(selected && graph.nodes.some((n) => n.name === selected) ? selected : 'loss');
  });

  draw();
  if (jobs.length) loadJob();
  return h('div', {class: 'graph-view', id: 'graph-view'},
    controls, h('div', {class: 'graph-scroll'}, canvas), legend,
    h('div', {class: 'graph-trace'}, h('div', {}, h('h3', {}, 'Trace an example'), form), panel));
}

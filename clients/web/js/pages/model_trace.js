// pages/model_trace.js — the chain rule on one example: a form for
// POST /v1/models/{id}/trace (numbers, or for a model of a table a record of
// its columns through model_records.js's fields; a target: a select of the
// classes for a classifier, numbers for regression) and the panel of one
// node of the answer: what flowed forward (value), what flowed back (grad,
// dL/dvalue), the local derivative and the rule, and its parameters (a
// weight matrix with its values as a heatmap), or for the loss node the
// loss, its rule and the output against the target. Every number shown
// carries the answer's exact value in data-value (the text is rounded).

import {ApiError, post} from '../api.js';
import {formError, h} from '../dom.js';
import {num} from '../format.js';
import {el as svg} from '../scatter.js';
import {recordFields} from './model_records.js';

const STATS = ['min', 'max', 'mean', 'norm'];
const CELL = 18;        // heatmap cell size, px
const HEAT_WIDTH = 320; // a wider matrix gets smaller cells

/** Numbers from text split by commas or blanks; throws naming the bad one. */
function numbers(text) {
  return text.split(/[\s,;]+/).filter((c) => c !== '').map((c) => {
    const v = Number(c);
    if (!Number.isFinite(v)) throw new Error(`"${c}" is not a number`);
    return v;
  });
}

/**
 * @param m       the model (GET /v1/models/{id})
 * @param outputs the width of its output
 * @param onTrace (answer) → called with each trace answer
 * @return the form element
 */
export function traceForm(m, outputs, onTrace) {
  let record = null;
  if (m.encoding) {
    // the predict form holds the same fields: these get ids of their own
    record = recordFields(m.encoding);
    record.element.id = 'trace-record';
    for (const input of record.element.querySelectorAll('[id]')) input.id = `trace-${input.id}`;
    for (const label of record.element.querySelectorAll('label[for]')) {
      label.htmlFor = `trace-${label.htmlFor}`;
    }
  }
  const width = m.spec.inputs ?? (m.encoding ? m.encoding.width : null);
  const input = h('input', {type: 'text', id: 'trace-input', class: 'mono', spellcheck: 'false',
    placeholder: Array.from({length: width ?? 0}, (_, i) => (i + 1) / 10).join(', ')});
  const target = m.classes
    ? h('select', {id: 'trace-target'}, m.classes.map((c) => h('option', {value: c}, c)))
    : h('input', {type: 'text', id: 'trace-target', class: 'mono',
      placeholder: outputs > 1 ? `${outputs} numbers` : 'a number'});
  const error = h('div', {class: 'alert', hidden: true, id: 'trace-error'});
  const submit = h('button', {type: 'submit', class: 'button primary', id: 'trace-submit',
    disabled: !m.trained}, 'Trace');
  const form = h('form', {class: 'form', id: 'trace-form'},
    record ? h('div', {class: 'field'}, h('span', {}, 'The example: one field per column'),
      record.element)
      : width === null ? h('p', {class: 'hint'}, 'The example\'s fields come with its first table.')
        : h('label', {class: 'field'}, h('span', {}, `The example: ${width} numbers`), input),
    h('label', {class: 'field'}, h('span', {}, m.classes ? 'Target class' : 'Target'), target),
    m.trained ? null : h('p', {class: 'hint warn'}, 'Train the model first: a trace needs weights.'),
    error, h('div', {class: 'actions'}, submit));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    formError(error, null);
    const body = {};
    try {
      if (record) body.record = record.read();
      else body.input = numbers(input.value);
      if (m.classes) {
        body.target = target.value;
      } else {
        const t = numbers(target.value);
        if (t.length === 0) throw Object.assign(new Error('enter the target'), {field: 'target'});
        body.target = t.length === 1 ? t[0] : t;
      }
    } catch (err) {
      formError(error, {field: err.field || 'input', message: err.message});
      return;
    }
    submit.disabled = true;
    try {
      onTrace(await post(`/v1/models/${m.id}/trace`, body));
    } catch (err) {
      formError(error, err instanceof ApiError ? err : {message: String(err)});
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** A white-to-colour diverging scale for a heatmap: negative blue, positive red. */
function heat(v, extent) {
  const t = extent > 0 ? Math.min(1, Math.abs(v) / extent) : 0;
  const [r, g, b] = v < 0 ? [37, 99, 235] : [220, 38, 38];
  const mix = (c) => Math.round(255 + (c - 255) * t);
  return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
}

/** A matrix's values (row-major, shape [rows, cols]) as coloured cells. */
function heatmap(t) {
  const [rows, cols] = t.shape;
  const cell = Math.max(3, Math.min(CELL, Math.floor(HEAT_WIDTH / cols)));
  const extent = Math.max(Math.abs(t.min), Math.abs(t.max));
  const map = svg('svg', {class: 'heatmap', width: cols * cell, height: rows * cell,
    viewBox: `0 0 ${cols * cell} ${rows * cell}`, role: 'img',
    'aria-label': `${rows} × ${cols} values, blue negative, red positive`});
  t.values.forEach((v, k) => {
    const rect = svg('rect', {x: (k % cols) * cell, y: Math.floor(k / cols) * cell,
      width: cell, height: cell, fill: heat(v, extent), 'data-value': v});
    rect.append(svg('title', {}, `[${Math.floor(k / cols)}, ${k % cols}] ${v}`));
    map.append(rect);
  });
  return map;
}

/** One tensor of a trace: its shape and statistics, and its values when sent. */
function tensor(label, key, t, note) {
  if (!t) return null;
  let values;
  if (!t.values) {
    values = h('p', {class: 'muted small'}, 'More than 256 entries: the summary only.');
  } else if (t.shape.length === 2 && t.shape[0] > 1 && t.shape[1] > 1) {
    values = heatmap(t);
  } else {
    values = h('div', {class: 'tensor-values mono small'}, t.values.map((v) => num(v)).join(', '));
  }
  return h('div', {class: 'tensor', 'data-tensor': key,
    'data-values': t.values ? JSON.stringify(t.values) : null},
  h('div', {class: 'tensor-head'}, h('strong', {}, label), ' ',
    h('span', {class: 'muted mono small'}, `[${t.shape.join(' × ')}]`),
    note ? h('span', {class: 'muted small'}, ` — ${note}`) : null),
  h('table', {class: 'table compact tensor-stats'},
    h('thead', {}, h('tr', {}, STATS.map((s) => h('th', {class: 'num'}, s)))),
    h('tbody', {}, h('tr', {}, STATS.map((s) =>
      h('td', {class: 'num mono', 'data-stat': s, 'data-value': String(t[s])}, num(t[s])))))),
  values);
}

/**
 * The panel of one node of a trace answer.
 * @param trace   the answer
 * @param name    a node's name, or 'loss'
 * @param next    the names of the nodes that take this one as input
 */
export function nodePanel(trace, name, next) {
  if (name === 'loss') {
    const l = trace.loss;
    return h('div', {class: 'graph-panel-body', 'data-node': 'loss'},
      h('h3', {}, `loss: ${l.type}`),
      h('p', {}, 'L = ', h('span', {class: 'mono strong', 'data-stat': 'loss',
        'data-value': String(l.value)}, num(l.value)),
      trace.label !== undefined ? h('span', {class: 'muted'}, ` — predicted ${trace.label}`) : null,
      h('span', {class: 'muted'}, `, target ${JSON.stringify(trace.target)}`)),
      h('p', {class: 'mono rule', 'data-rule': ''}, l.rule),
      trace.head !== 'linear' ? h('p', {class: 'muted small'},
        `The ${trace.head} output activation is applied inside the loss: the backward pass ` +
        'starts at the logits with the rule above.') : null,
      tensor('Output', 'output', trace.output, 'what predict answers'));
  }
  const n = trace.nodes.find((x) => x.name === name);
  if (!n) return h('p', {class: 'muted'}, `No node ${name} in this trace.`);
  const from = (n.inputs || []).join(', ');
  const p = n.params || {};
  return h('div', {class: 'graph-panel-body', 'data-node': n.name},
    h('h3', {}, n.name, ' ', h('span', {class: 'muted small'}, n.op)),
    n.rule ? h('p', {class: 'mono rule', 'data-rule': ''}, n.rule) : null,
    tensor('Raw input', 'raw', n.raw, 'the example as given'),
    tensor('Forward: value', 'value', n.value, from ? `computed from ${from}` : 'standardized'),
    tensor('Backward: grad dL/dvalue', 'grad', n.grad,
      `arriving from ${next.length ? next.join(', ') : 'the loss'}`),
    tensor('Local derivative', 'local', n.local,
      `the gradient passed back to ${from} is grad × local`),
    p.weight ? h('h4', {}, 'Weight W') : null,
    tensor('W value', 'weight.value', p.weight && p.weight.value),
    tensor('W grad dL/dW', 'weight.grad', p.weight && p.weight.grad),
    p.bias ? h('h4', {}, 'Bias b') : null,
    tensor('b value', 'bias.value', p.bias && p.bias.value),
    tensor('b grad dL/db', 'bias.grad', p.bias && p.bias.grad));
}

// graph.test.js — the model page's graph (pages/model_graph.js): the model
// drawn as a layered DAG with one node per step of the server's trace,
// coloured by an epoch's per-layer gradient norms, and the trace of an
// example opened node by node (pages/model_trace.js), every number checked
// against the API's own answer. The layout itself is checked in Node on a
// DAG today's models cannot make (two inputs, a node with two inputs).

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {layout, specNodes} from '../../clients/web/js/pages/graph_layout.js';
import {screenshot, watch} from './browser.js';
import {irisCsv} from './data.js';
import {session} from './session.js';

const EPOCHS = 30;
const EXAMPLE = [5.9, 2.8, 4.3, 1.3];

const s = session();

test('layout: a DAG with two inputs and a join is layered by longest path', () => {
  const nodes = [
    {name: 'a', op: 'input', inputs: []},
    {name: 'b', op: 'input', inputs: []},
    {name: 'h1', op: 'dense', inputs: ['a']},
    {name: 'h2', op: 'relu', inputs: ['h1']},
    {name: 'r', op: 'add', inputs: ['h2', 'b']},
    {name: 'y', op: 'dense', inputs: ['r']},
  ];
  const g = layout(nodes);
  const at = Object.fromEntries(g.nodes.map((n) => [n.name, n]));
  assert.deepEqual(g.nodes.map((n) => [n.name, n.column]),
    [['a', 0], ['b', 0], ['h1', 1], ['h2', 2], ['r', 3], ['y', 4], ['loss', 5]]);
  assert.deepEqual(g.edges, [{from: 'a', to: 'h1'}, {from: 'h1', to: 'h2'}, {from: 'h2', to: 'r'},
    {from: 'b', to: 'r'}, {from: 'r', to: 'y'}, {from: 'y', to: 'loss'}]);
  for (const e of g.edges) assert.ok(at[e.from].column < at[e.to].column, `${e.from} → ${e.to}`);
  assert.notEqual(at.a.row, at.b.row, 'two nodes of a column on different rows');
  assert.equal(g.columns, 6);
  assert.equal(g.rows, 2);
  // two sinks both feed the loss
  const two = layout([{name: 'x', op: 'input', inputs: []}, {name: 'p', op: 'dense', inputs: ['x']},
    {name: 'q', op: 'dense', inputs: ['x']}]);
  assert.deepEqual(two.edges.filter((e) => e.to === 'loss').map((e) => e.from), ['p', 'q']);
});

test('layout: a layer list is named as the trace names it, the fused head left out', () => {
  const spec = {inputs: 3, loss: 'binary_cross_entropy', layers: [
    {type: 'dense', units: 4, activation: 'leaky_relu'}, {type: 'dropout', rate: 0.2},
    {type: 'dense', units: 2, activation: 'linear'}, {type: 'dense', units: 1, activation: 'sigmoid'}]};
  assert.deepEqual(specNodes(spec, 3).map((n) => [n.name, n.op, n.inputs, n.shape]), [
    ['x', 'input', [], [3]], ['layers[0]', 'dense', ['x'], [4]],
    ['layers[0].leaky_relu', 'leaky_relu', ['layers[0]'], [4]],
    ['layers[1]', 'dropout', ['layers[0].leaky_relu'], [4]],
    ['layers[2]', 'dense', ['layers[1]'], [2]], ['layers[3]', 'dense', ['layers[2]'], [1]]]);
});

/** The bad example's answer: a 400 from trace, which the browser logs too. */
const badTrace = (p) => (p.status === 400 && /\/trace: 400$/.test(p.text)) ||
  (p.kind === 'console' && /status of 400/.test(p.text));

/** Relative luminance of an "rgb(r, g, b)" fill: the ramp darkens as gradients grow. */
function luminance(fill) {
  const [r, g, b] = fill.match(/\d+/g).map(Number).map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The graph's nodes and edges as drawn. */
async function drawn(page) {
  return page.evaluate(() => ({
    nodes: [...document.querySelectorAll('#graph .graph-node')].map((g) => g.dataset.node),
    edges: [...document.querySelectorAll('#graph .graph-edge')]
      .map((e) => `${e.dataset.from}→${e.dataset.to}`).sort(),
  }));
}

function expectedEdges(trace) {
  const used = new Set(trace.nodes.flatMap((n) => n.inputs || []));
  return [...trace.nodes.flatMap((n) => (n.inputs || []).map((i) => `${i}→${n.name}`)),
    ...trace.nodes.filter((n) => !used.has(n.name)).map((n) => `${n.name}→loss`)].sort();
}

/** The numbers a tensor block of the panel shows, by statistic, and its values. */
async function shown(panel, key) {
  const block = panel.locator(`.tensor[data-tensor="${key}"]`);
  const stats = {};
  for (const s of ['min', 'max', 'mean', 'norm']) {
    stats[s] = Number(await block.locator(`td[data-stat="${s}"]`).getAttribute('data-value'));
  }
  const values = await block.getAttribute('data-values');
  return {stats, values: values === null ? null : JSON.parse(values)};
}

function summary(t) {
  return {stats: {min: t.min, max: t.max, mean: t.mean, norm: t.norm}, values: t.values ?? null};
}

/** Train model on dataset to the end through the API (setup, not under test). */
async function train(model, dataset, epochs, extra = {}) {
  let job = await s.daemon.api('POST', '/v1/jobs', {model, dataset, epochs, ...extra});
  while (job.state !== 'succeeded') {
    assert.ok(['queued', 'running'].includes(job.state), JSON.stringify(job));
    await new Promise((r) => setTimeout(r, 100));
    job = await s.daemon.api('GET', `/v1/jobs/${job.id}`);
  }
  return job;
}

test('the graph, its epoch colours and a trace opened node by node', async () => {
  const res = await fetch(`${s.daemon.url}/v1/datasets?name=iris&target=species`,
    {method: 'POST', headers: {'Content-Type': 'text/csv'}, body: irisCsv()});
  assert.equal(res.status, 201);
  const dataset = await res.json();
  const model = await s.daemon.api('POST', '/v1/models', {name: 'iris-graph', inputs: 4,
    loss: 'cross_entropy', layers: [{type: 'dense', units: 6, activation: 'relu'},
      {type: 'dropout', rate: 0.1}, {type: 'dense', units: 5, activation: 'tanh'},
      {type: 'dense', units: 3, activation: 'softmax'}]});
  const job = await train(model.id, dataset.id, EPOCHS, {optimizer: {type: 'sgd', lr: 0.05}});
  const {metrics} = await s.daemon.api('GET', `/v1/jobs/${job.id}/metrics`);
  const trace = await s.daemon.api('POST', `/v1/models/${model.id}/trace`,
    {input: EXAMPLE, target: 'virginica'});
  const m = await s.daemon.api('GET', `/v1/models/${model.id}`);

  const page = await s.browser.context.newPage();
  const watcher = watch(page);
  await page.goto(`${s.daemon.url}/#/models/${model.id}`);
  await page.locator('#graph .graph-node[data-node="loss"]').waitFor();

  // before a trace the graph comes from the spec: the trace's nodes, and the loss
  let g = await drawn(page);
  assert.deepEqual(g.nodes.slice().sort(), [...trace.nodes.map((n) => n.name), 'loss'].sort());
  assert.deepEqual(g.edges, expectedEdges(trace));
  assert.equal(g.nodes.length, 8); // x, 3 dense, relu, dropout, tanh (softmax is the loss's)

  // an epoch's colours: each dense layer's grad_norm, darker when larger
  await page.locator('#graph-epoch-label', {hasText: String(EPOCHS)}).waitFor();
  for (const k of [0, 9, EPOCHS - 1]) {
    await page.locator('#graph-epoch').evaluate((el, v) => {
      el.value = String(v);
      el.dispatchEvent(new Event('input'));
    }, k);
    const row = metrics[k];
    assert.equal(await page.locator('#graph-epoch-label').innerText(), String(row.epoch));
    const colours = await page.evaluate(() => [...document.querySelectorAll(
      '#graph .graph-node[data-op="dense"]')].map((n) => ({name: n.dataset.node,
      magnitude: Number(n.dataset.magnitude), fill: n.querySelector('rect').getAttribute('fill')})));
    const dense = row.layers.filter((l) => l.type === 'dense');
    assert.deepEqual(colours.map((c) => c.magnitude), dense.map((l) => l.grad_norm),
      `epoch ${row.epoch}`);
    const byNorm = dense.map((l, i) => i).sort((a, b) => dense[a].grad_norm - dense[b].grad_norm);
    const byDark = colours.map((c, i) => i)
      .sort((a, b) => luminance(colours[b].fill) - luminance(colours[a].fill));
    assert.deepEqual(byDark, byNorm, `epoch ${row.epoch}: darker means a larger gradient`);
    assert.equal(new Set(colours.map((c) => c.fill)).size, colours.length);
    // an edge carries the gradient back from the node it leaves, in its colour
    for (const c of colours) {
      const edge = page.locator(`#graph .graph-edge[data-from="${c.name}"]`);
      assert.equal(await edge.getAttribute('stroke'), c.fill);
    }
  }
  const norms = metrics.flatMap((r) => r.layers.map((l) => l.grad_norm)).filter((v) => v > 0);
  // the scale spans every epoch of the job, so the colours compare across epochs
  assert.equal(Number(await page.locator('#graph-legend [data-end="lo"]').getAttribute('data-value')),
    Math.min(...norms));
  assert.equal(Number(await page.locator('#graph-legend [data-end="hi"]').getAttribute('data-value')),
    Math.max(...norms));
  assert.equal(await page.locator('#graph-legend stop').count(), 9);

  // a classifier's target: exactly its classes
  assert.deepEqual(await page.locator('#trace-target option').allInnerTexts(), m.classes);

  // a bad example: the API's error under the form
  const before = watcher.count();
  await page.fill('#trace-input', '1, 2, 3');
  await page.click('#trace-submit');
  await page.locator('#trace-error:not([hidden])').waitFor();
  assert.match(await page.locator('#trace-error').innerText(), /^input: .*4/);
  assert.deepEqual(watcher.problems(badTrace, before),
    []);
  await page.fill('#trace-input', '1, x, 3, 4');
  await page.click('#trace-submit');
  assert.match(await page.locator('#trace-error').innerText(), /"x" is not a number/);

  // the trace: the same nodes, coloured by the trace's own gradient norms
  await page.fill('#trace-input', EXAMPLE.join(', '));
  await page.selectOption('#trace-target', 'virginica');
  await page.click('#trace-submit');
  await page.locator('#graph-panel [data-node="loss"]').waitFor();
  assert.equal(await page.locator('#trace-error').isHidden(), true);
  g = await drawn(page);
  assert.deepEqual(g.nodes.slice().sort(), [...trace.nodes.map((n) => n.name), 'loss'].sort());
  assert.deepEqual(g.edges, expectedEdges(trace));
  assert.equal(await page.locator('#graph-colour').inputValue(), 'trace');
  for (const n of trace.nodes) {
    assert.equal(Number(await page.locator(`#graph .graph-node[data-node="${n.name}"]`)
      .getAttribute('data-magnitude')), n.grad.norm, n.name);
  }

  // the loss: its value and rule
  const panel = page.locator('#graph-panel');
  assert.equal(Number(await panel.locator('[data-stat="loss"]').getAttribute('data-value')),
    trace.loss.value);
  assert.equal(await panel.locator('[data-rule]').innerText(), trace.loss.rule);
  assert.deepEqual(await shown(panel, 'output'), summary(trace.output));

  // a dense node: forward, backward, its parameters and the weight's heatmap
  await page.click('#graph .graph-node[data-node="layers[0]"]');
  await panel.locator('[data-node="layers[0]"]').waitFor();
  const dense = trace.nodes.find((n) => n.name === 'layers[0]');
  assert.equal(await panel.locator('[data-rule]').innerText(), dense.rule);
  assert.deepEqual(await shown(panel, 'value'), summary(dense.value));
  assert.deepEqual(await shown(panel, 'grad'), summary(dense.grad));
  for (const p of ['weight', 'bias']) {
    for (const k of ['value', 'grad']) {
      assert.deepEqual(await shown(panel, `${p}.${k}`), summary(dense.params[p][k]), `${p}.${k}`);
    }
  }
  const cells = await panel.locator('.tensor[data-tensor="weight.value"] .heatmap rect')
    .evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-value'))));
  assert.deepEqual(cells, dense.params.weight.value.values);
  assert.equal(cells.length, 6 * 4);
  assert.equal(await page.locator('#graph .graph-node.selected').getAttribute('data-node'),
    'layers[0]');

  // an activation: its local derivative, and what it passes back
  await page.click('#graph .graph-node[data-node="layers[2].tanh"]');
  await panel.locator('[data-node="layers[2].tanh"]').waitFor();
  const tanh = trace.nodes.find((n) => n.name === 'layers[2].tanh');
  assert.equal(await panel.locator('[data-rule]').innerText(), tanh.rule);
  assert.deepEqual(await shown(panel, 'local'), summary(tanh.local));
  assert.deepEqual(await shown(panel, 'grad'), summary(tanh.grad));
  assert.match(await panel.innerText(), /arriving from layers\[3\]/);
  assert.equal(await panel.locator('.heatmap').count(), 0, 'no parameters');

  // back to an epoch's colours from the select
  await page.selectOption('#graph-colour', 'epoch');
  const last = metrics[EPOCHS - 1].layers.find((l) => l.layer === 0);
  assert.equal(Number(await page.locator('#graph .graph-node[data-node="layers[0]"]')
    .getAttribute('data-magnitude')), last.grad_norm);
  assert.equal(await page.locator('#graph .graph-node[data-node="layers[0].relu"]')
    .getAttribute('data-magnitude'), '', 'no per-epoch figure for an activation');

  await page.selectOption('#graph-colour', 'trace');
  await page.click('#graph .graph-node[data-node="layers[0]"]');
  await screenshot(page, 'model-graph');
  assert.deepEqual(watcher.problems(badTrace), []);
  await page.close();
});

test('a regression model: untrained, no trace; trained, a number as its target', async () => {
  const model = await s.daemon.api('POST', '/v1/models', {name: 'fresh', inputs: 2, loss: 'mse',
    layers: [{type: 'dense', units: 3, activation: 'sigmoid'}, {type: 'dense', units: 1}]});
  const page = await s.browser.context.newPage();
  const watcher = watch(page);
  await page.goto(`${s.daemon.url}/#/models/${model.id}`);
  await page.locator('#graph .graph-node[data-node="loss"]').waitFor();
  const g = await drawn(page);
  assert.deepEqual(g.nodes, ['x', 'layers[0]', 'layers[0].sigmoid', 'layers[1]', 'loss']);
  assert.deepEqual(g.edges, ['layers[0].sigmoid→layers[1]', 'layers[0]→layers[0].sigmoid',
    'layers[1]→loss', 'x→layers[0]']);
  assert.equal(await page.locator('#trace-target').evaluate((el) => el.tagName), 'INPUT');
  assert.equal(await page.locator('#trace-submit').isDisabled(), true);
  assert.equal(await page.locator('#graph-job').count(), 0, 'no job: no epoch slider');

  // trained, it traces against the number given
  const data = await s.daemon.api('POST', '/v1/datasets', {name: 'line',
    inputs: [[0, 0], [0, 1], [1, 0], [1, 1]], targets: [[0], [1], [1], [2]]});
  await train(model.id, data.id, 3);
  const trace = await s.daemon.api('POST', `/v1/models/${model.id}/trace`,
    {input: [1, 0], target: 0.5});
  await page.reload();
  await page.fill('#trace-input', '1 0');
  await page.fill('#trace-target', '0.5');
  await page.click('#trace-submit');
  await page.locator('#graph-panel [data-node="loss"]').waitFor();
  assert.equal(Number(await page.locator('#graph-panel [data-stat="loss"]')
    .getAttribute('data-value')), trace.loss.value);
  assert.deepEqual(watcher.problems(), []);
  await page.close();
});

test('a model of a table traces a record from one field per column', async () => {
  const records = Array.from({length: 30}, (_, i) => ({island: ['Biscoe', 'Dream'][i % 2],
    mass: 3500 + 40 * i + 300 * (i % 2), species: ['Adelie', 'Gentoo'][i % 2]}));
  const table = await s.daemon.api('POST', '/v1/datasets', {name: 'birds', target: 'species',
    records});
  const model = await s.daemon.api('POST', '/v1/models', {name: 'bird-net', loss: 'cross_entropy',
    layers: [{type: 'dense', units: 4, activation: 'relu'},
      {type: 'dense', units: 2, activation: 'softmax'}]});
  await train(model.id, table.id, 5);
  const record = {island: 'Dream', mass: 4100};
  const trace = await s.daemon.api('POST', `/v1/models/${model.id}/trace`,
    {record, target: 'Gentoo'});

  const page = await s.browser.context.newPage();
  const watcher = watch(page);
  await page.goto(`${s.daemon.url}/#/models/${model.id}`);
  await page.locator('#trace-record').waitFor();
  assert.equal(await page.locator('#trace-input').count(), 0, 'fields, not numbers');
  assert.deepEqual(await page.locator('#trace-record [data-column]').evaluateAll((els) =>
    els.map((e) => e.dataset.column)), ['island', 'mass']);
  const ids = await page.evaluate(() => [...document.querySelectorAll('[id]')].map((e) => e.id));
  assert.equal(new Set(ids).size, ids.length, 'the trace form and predict form share no id');
  assert.deepEqual(await page.locator('#trace-target option').allInnerTexts(), ['Adelie', 'Gentoo']);
  await page.selectOption('#trace-record [data-column="island"]', 'Dream');
  await page.fill('#trace-record [data-column="mass"]', '4100');
  await page.selectOption('#trace-target', 'Gentoo');
  await page.click('#trace-submit');
  await page.locator('#graph-panel [data-node="loss"]').waitFor();
  const panel = page.locator('#graph-panel');
  assert.equal(Number(await panel.locator('[data-stat="loss"]').getAttribute('data-value')),
    trace.loss.value);
  await page.click('#graph .graph-node[data-node="x"]');
  await panel.locator('[data-node="x"]').waitFor();
  const x = trace.nodes.find((n) => n.name === 'x');
  assert.deepEqual(await shown(panel, 'raw'), summary(x.raw));
  assert.deepEqual(await shown(panel, 'value'), summary(x.value));

  // before its first table, a model of one has no fields yet: its graph's input has no shape
  const fresh = await s.daemon.api('POST', '/v1/models', {name: 'fresh-bird', loss: 'mse',
    layers: [{type: 'dense', units: 1}]});
  await page.goto(`${s.daemon.url}/#/models/${fresh.id}`);
  await page.locator('#graph .graph-node[data-node="loss"]').waitFor();
  assert.equal(await page.locator('#trace-input, #trace-record').count(), 0);
  assert.match(await page.locator('#trace-form').innerText(), /fields come with its first table/);
  assert.equal(await page.locator('#graph .graph-node[data-node="x"] .graph-op').textContent(),
    'input');
  assert.deepEqual(watcher.problems(), []);
  await page.close();
});

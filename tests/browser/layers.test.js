// layers.test.js — the job page's per-layer gradient-norm chart, drawn from
// the `layers` array metrics rows carry when the daemon gathers training
// diagnostics. The job is real; its event stream is replayed with such
// arrays added, so the chart is tested whatever the daemon reports.

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {screenshot, watch} from './browser.js';
import {session} from './session.js';

const EPOCHS = 40;

const s = session();

/* The layers array of an epoch: a relu layer, a dropout layer, a softmax layer. */
function layers(epoch) {
  return [
    {layer: 0, type: 'dense', activation: 'relu', grad_norm: 2 / epoch, weight_norm: 3,
      dead_fraction: 0.1},
    {layer: 1, type: 'dropout', activation: null, grad_norm: null, weight_norm: null,
      dead_fraction: null},
    {layer: 2, type: 'dense', activation: 'softmax', grad_norm: 0.5 / epoch, weight_norm: 1,
      dead_fraction: null},
  ];
}

function event(id, type, data) {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

test('the gradient norm of each dense layer is drawn per epoch', async () => {
  await s.daemon.api('POST', '/v1/datasets', {name: 'xor', inputs: [[0, 0], [0, 1], [1, 0], [1, 1]],
    targets: [[0], [1], [1], [0]]});
  await s.daemon.api('POST', '/v1/models', {name: 'xor-net', inputs: 2, loss: 'mse',
    layers: [{type: 'dense', units: 8, activation: 'relu'}, {type: 'dropout', rate: 0.1},
      {type: 'dense', units: 1, activation: 'sigmoid'}]});
  const job = await s.daemon.api('POST', '/v1/jobs', {model: 1, dataset: 1, epochs: EPOCHS});
  let done = job;
  while (done.state !== 'succeeded') {
    await new Promise((r) => setTimeout(r, 100));
    done = await s.daemon.api('GET', `/v1/jobs/${job.id}`);
  }
  const {metrics} = await s.daemon.api('GET', `/v1/jobs/${job.id}/metrics`);
  const first = metrics.slice(0, 5).map((m) => ({...m, layers: null})); // before diagnostics
  const rest = metrics.slice(5).map((m) => ({...m, layers: layers(m.epoch)}));
  let body = event(1, 'state', {...job, state: 'running'});
  [...first, ...rest].forEach((m, i) => {
    body += event(i + 2, 'epoch', {job: job.id, ...m});
  });
  body += event(EPOCHS + 2, 'state', done);

  const page = await s.browser.context.newPage();
  const watcher = watch(page);
  await page.route(`**/v1/jobs/${job.id}/events`, (route) => route.fulfill({
    status: 200, headers: {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store'},
    body}));
  await page.goto(`${s.daemon.url}/#/jobs/${job.id}`);
  const grad = page.locator('#charts .chart').nth(3);
  await grad.locator('canvas').waitFor();
  assert.equal(await grad.getAttribute('data-points'), String(EPOCHS - 5),
    'the epochs that carry layers');
  const legend = await grad.locator('.u-legend').innerText();
  assert.match(legend, /L0 dense relu/);
  assert.match(legend, /L2 dense softmax/);
  assert.doesNotMatch(legend, /dropout/, 'dropout layers have no gradient norm');
  assert.deepEqual(JSON.parse(await grad.getAttribute('data-series')),
    [['L0 dense relu', EPOCHS - 5], ['L2 dense softmax', EPOCHS - 5]]);
  const loss = page.locator('#charts .chart').nth(0);
  assert.equal(await loss.getAttribute('data-points'), String(EPOCHS),
    'the loss curve has every epoch');
  // No validation split: no val loss series, no val loss value.
  assert.deepEqual(JSON.parse(await loss.getAttribute('data-series')), [['loss', EPOCHS]]);
  assert.doesNotMatch(await loss.locator('.u-legend').innerText(), /val/);
  assert.equal(done.config.validation_split, 0);
  assert.equal(await page.locator('.stats .stat', {hasText: 'Val loss'}).locator('.stat-value')
    .innerText(), '—');
  await page.locator('#live[data-state="ended"]').waitFor();
  await screenshot(page, 'job-layers');
  assert.deepEqual(watcher.problems(), []);
  await page.close();
});

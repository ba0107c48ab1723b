// dashboard.test.js — the dashboard in Chromium against a real traind, as a
// person would use it: upload a dataset, create a model, start a job from
// the form and watch its curves and progress bar grow, cancel a second job,
// predict, list the models.
// Every step fails on a console error, an uncaught exception, a failed
// request or an error answer the step does not expect.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import {before, describe, test} from 'node:test';

import {num} from '../../clients/web/js/format.js';
import {checkRouteShots, screenshot, watch} from './browser.js';
import {session} from './session.js';
import {irisCsv} from './data.js';

const WAIT_MS = 180000; // training under the sanitizers on a loaded machine is slow
const EPOCHS = 1500;
const VALIDATION_SPLIT = 0.25;

/**
 * A progress bar as the page draws it (run in the page): its ARIA values,
 * its state's class, the width of its fill (the style, in %) and the share
 * of the bar the fill covers on screen.
 */
function readBar(el) {
  const fill = el.querySelector('.progress-fill');
  return {now: Number(el.getAttribute('aria-valuenow')),
    max: Number(el.getAttribute('aria-valuemax')), state: el.className,
    width: parseFloat(fill.style.width),
    shown: fill.getBoundingClientRect().width / el.getBoundingClientRect().width};
}

/** The bar shows epoch of epochs, in state: its values and its fill agree. */
function assertBar(bar, epoch, epochs, state) {
  assert.equal(bar.now, epoch, 'aria-valuenow');
  assert.equal(bar.max, epochs, 'aria-valuemax');
  // The style reads back with six significant digits.
  assert.ok(Math.abs(bar.width - (100 * epoch) / epochs) < 1e-3,
    `fill ${bar.width}% for ${epoch} / ${epochs}`);
  assert.match(bar.state, new RegExp(`\\bprogress-${state}\\b`));
}

describe('dashboard', () => {
  const s = session();
  let page;
  let watcher;

  before(async () => {
    page = await s.browser.context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    watcher = watch(page);
  });

  // A step of the walk through: its failure shows the daemon's log, and the
  // page must have had no problem but those `allowed` expects.
  const step = (name, fn, allowed) => test(name, async () => {
    const since = watcher.count();
    try {
      await fn();
      assert.deepEqual(watcher.problems(allowed, since), [], 'the page had problems');
    } catch (err) {
      err.message += `\n---- traind log\n${s.daemon.logTail()}`;
      throw err;
    }
  });
  const badRequest = (p) => p.status === 400 ||
    (p.kind === 'console' && p.text.includes('status of 400'));

  const text = (selector) => page.locator(selector).innerText();
  const points = (n) => page.locator('#charts .chart').nth(n).getAttribute('data-points')
    .then((v) => Number(v || 0));
  // label → how many points the series draws
  const series = (n) => page.locator('#charts .chart').nth(n).getAttribute('data-series')
    .then((v) => Object.fromEntries(JSON.parse(v || '[]')));
  const legend = (n) => page.locator('#charts .chart').nth(n)
    .locator('.u-legend .u-series .u-label').allInnerTexts();
  const statValue = (label) => page.locator('.stats .stat')
    .filter({has: page.locator('.stat-label', {hasText: new RegExp(`^${label}$`)})})
    .locator('.stat-value').innerText();
  const nav = (section) => page.locator(`.nav a[data-section="${section}"]`).click();
  const jobState = () => page.locator('.page-header h1 .badge').innerText();

  step('the jobs page opens, empty, with a live stream', async () => {
    await page.goto(`${s.daemon.url}/`);
    await page.locator('#jobs-table .empty').waitFor();
    assert.match(await text('#jobs-table'), /No jobs yet/);
    await page.locator('#live[data-state="live"]').waitFor();
    assert.equal(await page.title(), 'traind · jobs');
    await screenshot(page, 'jobs-empty');
  });

  step('a CSV upload shows the dataset\'s shape and classes; a bad one its error', async () => {
    await nav('datasets');
    await page.setInputFiles('#dataset-file', {name: 'bad.csv', mimeType: 'text/csv',
      buffer: Buffer.from('a,b,label\n1,2,x\n3,4\n')});
    assert.equal(await page.inputValue('#dataset-name'), 'bad');
    await page.click('#dataset-submit');
    await page.locator('#dataset-error:not([hidden])').waitFor();
    assert.match(await text('#dataset-error'), /row 2 has 2 columns where the header has 3/);

    await page.setInputFiles('#dataset-file', {name: 'iris.csv', mimeType: 'text/csv',
      buffer: Buffer.from(irisCsv())});
    await page.fill('#dataset-name', 'iris');
    assert.equal(await page.inputValue('#dataset-target'), 'species', 'the last column');
    await page.click('#dataset-submit');
    await page.locator('#dataset-shape').waitFor();
    assert.equal(await text('#dataset-shape'),
      'iris — 150 rows × 4 features, 3 classes: setosa, versicolor, virginica');
    assert.equal(await page.locator('#dataset-error').isHidden(), true);
    const row = page.locator('#datasets-table tbody tr').first();
    assert.match(await row.innerText(), /iris[\s\S]*classification[\s\S]*150[\s\S]*3 classes/);
    await screenshot(page, 'datasets');
  }, badRequest);

  step('a model is created from its JSON spec, with its errors named', async () => {
    await nav('models');
    const spec = await page.inputValue('#model-spec');
    await page.fill('#model-spec', spec.replace('"units": 16', '"units": 0'));
    await page.click('#model-submit');
    await page.locator('#model-error:not([hidden])').waitFor();
    assert.match(await text('#model-error'), /^layers\[0\]\.units:/);
    await page.fill('#model-spec', spec);
    await page.click('#model-submit');
    await page.waitForURL(/#\/models\/1$/);
    await page.locator('.page-header h1', {hasText: 'iris-net'}).waitFor();
    assert.match(await text('main'), /untrained/);
    assert.match(await text('main'), /16[\s\S]*relu[\s\S]*3[\s\S]*softmax/);
  }, badRequest);

  step('a job started from the form draws its curves while it trains', async () => {
    await page.goto(`${s.daemon.url}/#/jobs/new`);
    await page.locator('#job-form').waitFor();
    await page.selectOption('#job-model', '1'); // iris-net
    await page.selectOption('#job-dataset', '1'); // iris (the bad upload stored nothing)
    assert.match(await text('#job-form .hint'), /takes 4 inputs/);
    await page.fill('#job-epochs', String(EPOCHS));
    await page.fill('#job-batch_size', '8');
    await page.selectOption('#job-optimizer', 'adam');
    await page.fill('#job-lr', '0.01');
    await page.fill('#job-validation_split', String(VALIDATION_SPLIT));
    await screenshot(page, 'new-job');
    await page.click('#job-submit');
    await page.waitForURL(/#\/jobs\/1$/);

    // Sample the page while the job runs: the loss and val loss curves must
    // gain points, and the progress bar grow with the epoch it shows.
    const running = [];
    const grew = () => running.length >= 2 && ['points', 'val', 'epoch'].every((k) =>
      running[running.length - 1][k] > running[0][k]);
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      // One read of the page, between two of its renders.
      const {state, n, drawn, bar, epoch} = await page.evaluate(() => {
        const chart = document.querySelector('#charts .chart');
        const el = document.querySelector('.stats .progress');
        const fill = el?.querySelector('.progress-fill');
        return {state: document.querySelector('.page-header h1 .badge')?.textContent,
          n: Number(chart.dataset.points || 0), drawn: JSON.parse(chart.dataset.series || '[]'),
          bar: el && {now: Number(el.getAttribute('aria-valuenow')),
            max: Number(el.getAttribute('aria-valuemax')), state: el.className,
            width: parseFloat(fill.style.width)}, // as readBar reads it
          epoch: Number(document.querySelector('.stats .stat-value')?.firstChild?.textContent)};
      });
      if (state === 'running' && n > 0) {
        assertBar(bar, epoch, EPOCHS, 'running');
        assert.deepEqual(drawn, [['loss', n], ['val loss', n]], 'a point per epoch');
        running.push({points: n, val: drawn[1][1], epoch});
      }
      if (grew()) break;
      assert.notEqual(state, 'succeeded', `finished before two samples: ${JSON.stringify(running)}`);
      await page.waitForTimeout(50);
    }
    assert.ok(grew(), JSON.stringify(running));
    assert.equal(await page.locator('#live').getAttribute('data-state'), 'live');

    await page.locator('.page-header h1 .badge', {hasText: 'succeeded'}).waitFor();
    await page.locator(`#charts .chart[data-points="${EPOCHS}"]`).first().waitFor();
    const job = await s.daemon.api('GET', '/v1/jobs/1');
    const {metrics} = await s.daemon.api('GET', '/v1/jobs/1/metrics');
    assert.equal(metrics.length, EPOCHS);
    assert.equal(job.config.validation_split, VALIDATION_SPLIT);
    assert.ok(metrics.every((m) => typeof m.val_loss === 'number'), 'val_loss every epoch');
    assert.equal(await points(0), EPOCHS, 'loss');
    assert.deepEqual(await series(0), {loss: EPOCHS, 'val loss': EPOCHS});
    assert.deepEqual(await legend(0), ['epoch', 'loss', 'val loss']);
    assert.equal(await statValue('Val loss'), num(job.val_loss));
    assert.equal(await statValue('Loss'), num(job.loss));
    assert.equal(await points(1), EPOCHS, 'accuracy');
    assert.deepEqual(await series(1), {accuracy: EPOCHS, 'val accuracy': EPOCHS});
    assert.equal(await points(2), EPOCHS, 'learning rate');

    // Every row carries its layers; each dense layer has a gradient norm
    // series in the chart, in the model's order, with a point per epoch.
    const {spec} = await s.daemon.api('GET', '/v1/models/1');
    const dense = spec.layers.map((l, i) => ({...l, layer: i})).filter((l) => l.type === 'dense');
    assert.equal(dense.length, 2);
    for (const m of metrics) {
      assert.ok(Array.isArray(m.layers), `epoch ${m.epoch} has no layers`);
      assert.deepEqual(m.layers.filter((l) => typeof l.grad_norm === 'number').map((l) => l.layer),
        dense.map((l) => l.layer), `epoch ${m.epoch}: a gradient norm per dense layer`);
    }
    const labels = dense.map((l) => `L${l.layer} dense ${l.activation}`);
    assert.deepEqual(await legend(3), ['epoch', ...labels]);
    assert.equal(await points(3), EPOCHS, 'gradient norms');
    const drawn = await series(3);
    dense.forEach((l, i) => {
      const positive = metrics.filter((m) => m.layers.find((k) => k.layer === l.layer).grad_norm > 0);
      assert.ok(positive.length > 0, `${labels[i]}: no nonzero norm`);
      assert.equal(drawn[labels[i]], positive.length, labels[i]); // a log scale leaves zeros out
    });

    await page.locator('#live[data-state="ended"]').waitFor();
    assert.match(await text('.stats'), new RegExp(`${EPOCHS} / ${EPOCHS}`));
    const bar = await page.locator('.stats .progress').evaluate(readBar);
    assertBar(bar, EPOCHS, EPOCHS, 'succeeded');
    assert.ok(bar.shown > 0.99, `the bar is full on screen: ${bar.shown}`);
    assert.match(await text('main .props'), new RegExp(`Validation split\\s+${VALIDATION_SPLIT}`));
    await page.locator('main table.compact tbody tr td.mono', {hasText: String(EPOCHS)})
      .first().waitFor();
    await screenshot(page, 'job');
  });

  step('a second job is cancelled from the jobs page', async () => {
    await s.daemon.api('POST', '/v1/models', {name: 'wide-net', inputs: 4, loss: 'cross_entropy',
      layers: [{type: 'dense', units: 64, activation: 'tanh'},
        {type: 'dense', units: 3, activation: 'softmax'}]});
    await page.goto(`${s.daemon.url}/#/jobs/new`);
    await page.selectOption('#job-model', '2'); // wide-net
    await page.fill('#job-epochs', '1000000');
    await page.click('#job-submit');
    await page.waitForURL(/#\/jobs\/2$/);
    await page.locator('.page-header h1 .badge', {hasText: 'running'}).waitFor();

    await nav('jobs');
    const row = page.locator('#jobs-table tr[data-job="2"]');
    await row.locator('.badge', {hasText: 'running'}).waitFor();

    // The running job's bar shows its epoch, the one in the row's text,
    // and grows as the stream tells of new epochs.
    const readRow = () => row.evaluate((tr) => {
      const el = tr.querySelector('.progress');
      return {state: tr.dataset.state, text: tr.querySelector('.progress-cell').textContent,
        bar: {now: Number(el.getAttribute('aria-valuenow')), // as readBar reads it
          max: Number(el.getAttribute('aria-valuemax')), state: el.className,
          width: parseFloat(el.querySelector('.progress-fill').style.width)}};
    });
    const bars = [];
    while (bars.length < 2 || bars[bars.length - 1].now <= bars[0].now) {
      const r = await readRow();
      assert.equal(r.state, 'running');
      assertBar(r.bar, r.bar.now, 1000000, 'running');
      assert.equal(r.text, `${r.bar.now} / 1000000`);
      bars.push(r.bar);
      assert.ok(bars.length < WAIT_MS / 50, `the bar does not grow: ${JSON.stringify(bars)}`);
      await page.waitForTimeout(50);
    }
    assert.ok(bars[bars.length - 1].width > bars[0].width);

    await row.locator('button[data-action="cancel"]').click();
    await row.locator('.badge', {hasText: 'cancelled'}).waitFor();
    assert.equal(await row.locator('button[data-action="cancel"]').count(), 0);
    const cancelled = await s.daemon.api('GET', '/v1/jobs/2');
    await row.locator('.progress-cell', {hasText: `${cancelled.epoch} / 1000000`}).waitFor();
    assertBar((await readRow()).bar, cancelled.epoch, 1000000, 'cancelled');
    const first = page.locator('#jobs-table tr[data-job="1"]');
    assert.match(await first.innerText(), new RegExp(`succeeded[\\s\\S]*${EPOCHS} / ${EPOCHS}`));
    const full = await first.locator('.progress').evaluate(readBar);
    assertBar(full, EPOCHS, EPOCHS, 'succeeded');
    assert.ok(full.shown > 0.99, `the bar is full on screen: ${full.shown}`);
    assert.match(await text('.stats'), /Cancelled\s*1/i);
    await screenshot(page, 'jobs');
  });

  step('a prediction shows outputs and class labels', async () => {
    await page.goto(`${s.daemon.url}/#/models/1`);
    await page.locator('#predict-form').waitFor();
    await page.fill('#predict-inputs', '5.0, 3.4, 1.5, 0.2\n6.6 3.0 5.6 2.0\n');
    await page.click('#predict-submit');
    const rows = page.locator('#predict-table tbody tr');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    assert.match(await rows.nth(0).innerText(), /setosa$/);
    assert.match(await rows.nth(1).innerText(), /virginica$/);
    assert.match(await text('#predict-table thead'), /setosa\s+versicolor\s+virginica/i);
    assert.match(await text('#predict-version-used'), new RegExp(`version ${EPOCHS}\\.`));
    // The daemon keeps the newest 10 versions: any of them answers.
    const kept = page.locator('#versions-table tbody tr');
    assert.equal(await kept.count(), 10);
    assert.equal(await kept.first().getAttribute('data-version'), String(EPOCHS));
    const oldest = String(EPOCHS - 9);
    assert.equal(await kept.last().getAttribute('data-version'), oldest);
    await page.selectOption('#predict-version', oldest);
    await page.click('#predict-submit');
    await page.locator('#predict-version-used', {hasText: `version ${oldest}.`}).waitFor();
    await screenshot(page, 'model');
    await page.selectOption('#predict-version', '');

    await page.fill('#predict-inputs', '1, 2, 3');
    await page.click('#predict-submit');
    await page.locator('#predict-error:not([hidden])').waitFor();
    assert.match(await text('#predict-error'), /inputs\[0\]/);
  }, badRequest);

  step('the model page downloads its model file and its ONNX model', async () => {
    await page.goto(`${s.daemon.url}/#/models/1`);
    await page.locator('#model-downloads').waitFor();
    const m = await s.daemon.api('GET', '/v1/models/1');
    for (const [button, ext, magic] of [['#download-weights', 'traind', 'TRAINDMF'],
      ['#download-onnx', 'onnx', '\x08\x08\x12\x06traind']]) {
      const [file] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      assert.equal(file.suggestedFilename(), `${m.name}-v${m.version}.${ext}`);
      const bytes = fs.readFileSync(await file.path());
      assert.equal(bytes.subarray(0, magic.length).toString('latin1'), magic);
    }
  });

  step('the model page downloads the output of its batch predictions', async () => {
    const queued = await s.daemon.api('POST', '/v1/predictions', {model: 1, dataset: 1});
    let p = queued;
    while (p.state === 'queued' || p.state === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 50));
      p = await s.daemon.api('GET', `/v1/predictions/${queued.id}`);
    }
    assert.equal(p.state, 'succeeded');
    await page.goto(`${s.daemon.url}/#/models`); // the page is #/models/1 already: away and back
    await page.goto(`${s.daemon.url}/#/models/1`);
    const button = `#download-prediction-${p.id}`;
    await page.locator(button).waitFor();
    const m = await s.daemon.api('GET', '/v1/models/1');
    const [file] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
    assert.equal(file.suggestedFilename(), `${m.name}-prediction-${p.id}.csv`);
    const lines = fs.readFileSync(await file.path(), 'utf8').trim().split('\n');
    assert.equal(lines[0], 'row,output_0,output_1,output_2,label');
    assert.equal(lines.length, p.rows + 1);
  });

  step('the models page lists each model with its parameters and weights', async () => {
    await nav('models');
    await page.locator('#models-table tr[data-model="2"]').waitFor();
    const wide = await s.daemon.api('GET', '/v1/models/2');
    assert.ok(wide.trained, 'the cancelled job left weights');
    const rows = page.locator('#models-table tbody tr');
    assert.equal(await rows.count(), 2);
    assert.equal(await rows.nth(0).getAttribute('data-model'), '2', 'newest first');
    assert.match(await rows.nth(0).innerText(),
      new RegExp(`wide-net[\\s\\S]*cross_entropy\\s+515\\s+v${wide.version}\\b`));
    assert.match(await rows.nth(1).innerText(),
      new RegExp(`iris-net[\\s\\S]*cross_entropy\\s+131\\s+v${EPOCHS}\\b`));
    await screenshot(page, 'models');
  });

  test('every page of the dashboard has a screenshot', () => {
    checkRouteShots('dashboard'); // searches.test.js has the searches' pages
  });
});

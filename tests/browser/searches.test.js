// searches.test.js — the searches' pages and the compare page in Chromium
// against a real traind with one worker: a search is created while its list
// is open and queued behind a long job, so the list and the search page must
// follow it live through the event stream once that job is cancelled; then
// the leaderboard, the overlaid curves and the compare page are checked
// against what the API says.

import assert from 'node:assert/strict';
import {before, describe, test} from 'node:test';

import {byMetric, rungEpochs} from '../../clients/web/js/pages/search.js';
import {flatten, parseJobs, smooth} from '../../clients/web/js/pages/compare.js';
import {num} from '../../clients/web/js/format.js';
import {scale} from '../../clients/web/js/scatter.js';
import {checkRouteShots, screenshot, watch} from './browser.js';
import {session} from './session.js';

const WAIT_MS = 120000;
const TRIALS = 5;

/** n points near the XOR corners, spread by a fixed pattern. */
function xorLike(n) {
  const inputs = [];
  const targets = [];
  for (let i = 0; i < n; i++) {
    const a = i % 2;
    const b = Math.floor(i / 2) % 2;
    const jitter = (((i * 37) % 11) - 5) / 50;
    inputs.push([a + jitter, b - jitter]);
    targets.push([a ^ b]);
  }
  return {inputs, targets};
}

const SPEC = {name: 'xor-search', inputs: 2, loss: 'mse', seed: 1,
  layers: [{type: 'dense', units: 4, activation: 'tanh'},
    {type: 'dense', units: 1, activation: 'sigmoid'}]};

/** A config's leaves by dotted path, written apart from the page's flatten. */
function leaves(obj, prefix = '') {
  return Object.entries(obj).flatMap(([k, v]) => (v !== null && typeof v === 'object' &&
    !Array.isArray(v) ? leaves(v, `${prefix}${k}.`) : [[`${prefix}${k}`, v]]));
}

test('the pages\' helpers: metric order, job lists, flattened configs', () => {
  const t = (trial, metric) => ({trial, metric});
  const rows = [t(0, 0.5), t(1, null), t(2, 0.1), t(3, 0.5)];
  assert.deepEqual([...rows].sort(byMetric('min', 'asc')).map((r) => r.trial), [2, 0, 3, 1]);
  assert.deepEqual([...rows].sort(byMetric('max', 'asc')).map((r) => r.trial), [0, 3, 2, 1]);
  assert.deepEqual([...rows].sort(byMetric('min', 'desc')).map((r) => r.trial), [0, 3, 2, 1]);
  assert.deepEqual(parseJobs('3,1,x,3,,0,-2,7'), [3, 1, 7]);
  assert.deepEqual(parseJobs(null), []);
  assert.deepEqual(flatten({a: 1, b: {c: [1, 2], d: {e: null}}}), {a: 1, 'b.c': [1, 2], 'b.d.e': null});
  const asha = {method: 'asha', job: {epochs: 27}, asha: {min_epochs: 2, reduction_factor: 3}};
  assert.deepEqual(rungEpochs(asha), [2, 6, 18, 27]);
  assert.deepEqual(rungEpochs({...asha, asha: {min_epochs: 3, reduction_factor: 3}}), [3, 9, 27]);
  assert.deepEqual(rungEpochs({...asha, method: 'grid'}), [27]);
  assert.equal(scale(0, 10, 100, 200)(5), 150);
  assert.equal(scale(1, 100, 0, 2, true)(10), 1, 'log: 10 halfway from 1 to 100');
  assert.equal(scale(3, 3, 0, 10)(3), 5, 'one value: the middle');
  assert.deepEqual(smooth([1, null, 3, 5], 0), [1, null, 3, 5]);
  const [a, gap, b] = smooth([1, null, 3], 0.5);
  assert.equal(a, 1, 'debiased: the first point is its value');
  assert.equal(gap, null);
  assert.ok(Math.abs(b - 7 / 3) < 1e-12, `${b}: (0.25 * 1 + 0.5 * 3) / 0.75`);
});

describe('searches', () => {
  const s = session(['--workers', '1']);
  let page;
  let watcher;
  let blocker;
  let sid;

  before(async () => {
    page = await s.browser.context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    watcher = watch(page);
    const {inputs, targets} = xorLike(64);
    await s.daemon.api('POST', '/v1/datasets', {name: 'xor-like', inputs, targets});
    const model = await s.daemon.api('POST', '/v1/models', {...SPEC, name: 'blocker'});
    // The one worker is busy until this is cancelled: the search waits.
    blocker = await s.daemon.api('POST', '/v1/jobs', {model: model.id, dataset: 1,
      epochs: 100000, batch_size: 1});
  });

  const step = (name, fn) => test(name, async () => {
    const since = watcher.count();
    try {
      await fn();
      assert.deepEqual(watcher.problems(() => false, since), [], 'the page had problems');
    } catch (err) {
      err.message += `\n---- traind log\n${s.daemon.logTail()}`;
      throw err;
    }
  });

  step('the list shows a new search live', async () => {
    await page.goto(`${s.daemon.url}/#/searches`);
    await page.locator('#searches-table .empty').waitFor();
    await page.locator('#live[data-state="live"]').waitFor();
    const created = await s.daemon.api('POST', '/v1/searches', {model: SPEC, dataset: 1,
      job: {epochs: 9, batch_size: 8, optimizer: {type: 'adam', lr: 0.05}, validation_split: 0.25,
        seed: 3},
      method: 'asha', asha: {reduction_factor: 3, min_epochs: 1},
      space: {'job.optimizer.lr': {loguniform: [1e-3, 0.3]}, 'model.layers[0].units': {int: [2, 8]}},
      trials: TRIALS, metric: 'val_loss', mode: 'min', max_concurrent: 2, seed: 5});
    sid = created.id;
    const row = page.locator(`#searches-table tr[data-search="${sid}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'running');
    assert.match(await row.innerText(), /asha[\s\S]*val_loss \(min\)/);
  });

  step('the search page follows the search to its end', async () => {
    await page.goto(`${s.daemon.url}/#/searches/${sid}`);
    await page.locator('main .badge-running').first().waitFor();
    assert.equal(await page.locator('main .page-header .badge').innerText(), 'running');
    await s.daemon.api('POST', `/v1/jobs/${blocker.id}/cancel`, {});
    // nothing but the stream tells the page
    await page.locator('main .page-header .badge-succeeded').waitFor();
    const api = await s.daemon.api('GET', `/v1/searches/${sid}`);
    assert.equal(api.state, 'succeeded');
    await page.locator('#trials-table tbody tr').nth(TRIALS - 1).waitFor();
    assert.equal(await page.locator('#trials-table tbody tr').count(), TRIALS);
    // the best row: the API's best trial, whose metric is the least of all
    const best = page.locator('#trials-table tr[data-best="true"]');
    assert.equal(await best.count(), 1);
    assert.equal(Number(await best.getAttribute('data-trial')), api.best.trial);
    const least = Math.min(...api.trials.filter((t) => t.metric !== null).map((t) => t.metric));
    assert.equal(api.best.metric, least);
    assert.equal(Number(await best.locator('td[data-metric]').getAttribute('data-metric')), least);
    // each row as the API has it
    for (const t of api.trials) {
      const cells = await page.locator(`#trials-table tr[data-trial="${t.trial}"] td`).allInnerTexts();
      assert.equal(cells[4], t.state, `trial ${t.trial}`);
      assert.equal(Number(cells[5]), t.rung);
      assert.equal(Number(cells[6]), t.epochs);
    }
    // one series per trial, each with the epochs its job trained
    const chart = page.locator('#trials-chart');
    await page.waitForFunction(() => {
      const el = document.querySelector('#trials-chart');
      return el && el.dataset.series && JSON.parse(el.dataset.series).length > 0;
    });
    const series = JSON.parse(await chart.getAttribute('data-series'));
    assert.equal(series.length, api.trials.length);
    for (const t of api.trials) {
      const {metrics} = await s.daemon.api('GET', `/v1/jobs/${t.job}/metrics`);
      assert.deepEqual(series.find(([label]) => label === `trial ${t.trial}`),
        [`trial ${t.trial}`, metrics.filter((m) => m.val_loss !== null).length]);
      assert.equal(metrics.length, t.epochs);
    }
    assert.deepEqual(JSON.parse(await chart.getAttribute('data-marks')), [1, 3, 9], 'the rungs');
    assert.equal(Number(await chart.getAttribute('data-points')),
      Math.max(...api.trials.map((t) => t.epochs)));
    // a scatter per parameter, a point per trial with a metric, at its value
    const measured = api.trials.filter((t) => t.metric !== null);
    for (const param of Object.keys(api.config.space)) {
      const points = await page.locator(`#scatters svg[data-param="${param}"] circle`)
        .evaluateAll((cs) => cs.map((c) => ({trial: Number(c.dataset.trial), x: Number(c.dataset.x),
          y: Number(c.dataset.y), cx: Number(c.getAttribute('cx')), best: c.classList.contains('best')})));
      assert.deepEqual(points.map((p) => [p.trial, p.x, p.y]),
        measured.map((t) => [t.trial, t.params[param], t.metric]), param);
      assert.deepEqual(points.filter((p) => p.best).map((p) => p.trial), [api.best.trial]);
      const byX = [...points].sort((a, b) => a.x - b.x);
      for (let i = 1; i < byX.length; i++) {
        assert.ok(byX[i].cx >= byX[i - 1].cx, `${param}: a larger value is further right`);
      }
    }
    await screenshot(page, 'search');
  });

  step('the leaderboard sorts by metric, best first, then the other way', async () => {
    const metrics = async () => (await page.locator('#trials-table tbody td[data-metric]')
      .evaluateAll((tds) => tds.map((td) => td.dataset.metric)))
      .filter((m) => m !== '').map(Number);
    // the header's arrow is drawn with the rows
    const sorted = (arrow) => page.locator('#trials-table th button[data-sort="metric"]',
      {hasText: arrow}).waitFor();
    await page.locator('#trials-table th button[data-sort="metric"]').click();
    await sorted('▲');
    const asc = await metrics();
    assert.deepEqual(asc, [...asc].sort((a, b) => a - b));
    assert.equal(await page.locator('#trials-table tbody tr').first().getAttribute('data-best'), 'true');
    await page.locator('#trials-table th button[data-sort="metric"]').click();
    await sorted('▼');
    const desc = await metrics();
    assert.deepEqual(desc, [...asc].reverse());
  });

  step('picked trials open the compare page: curves and configs', async () => {
    const api = await s.daemon.api('GET', `/v1/searches/${sid}`);
    const picks = api.trials.slice(0, 3);
    for (const t of picks) {
      await page.locator(`#trials-table tr[data-trial="${t.trial}"] input[type=checkbox]`).check();
    }
    await page.locator('#compare-link').click();
    const ids = picks.map((t) => t.job).sort((a, b) => a - b);
    await page.waitForURL(`**/#/compare?jobs=${ids.join(',')}`);
    await checkCompare(ids);
  });

  step('jobs picked on the jobs list open the compare page', async () => {
    const api = await s.daemon.api('GET', `/v1/searches/${sid}`);
    const ids = [blocker.id, api.best.job];
    await page.goto(`${s.daemon.url}/#/jobs`);
    const link = page.locator('#compare-link');
    for (const id of ids) await page.locator(`#jobs-table tr[data-job="${id}"] input`).check();
    assert.equal(await link.getAttribute('href'), `#/compare?jobs=${ids.join(',')}`);
    await link.click();
    await checkCompare(ids);
    // the blocker trained longer and with batches of one: those rows differ
    const differs = await page.locator('#compare-config tr[data-differs="true"]')
      .evaluateAll((trs) => trs.map((tr) => tr.dataset.key));
    assert.ok(differs.includes('epochs') && differs.includes('batch_size'), differs.join());
    assert.equal(await page.locator('#compare-config tr[data-key="dataset"]').getAttribute('data-differs'),
      'false');
    // smoothing: the legend's newest loss of each job is the moving average's
    const lossChart = page.locator('#charts .chart').nth(0);
    const legendOf = async () => (await lossChart.locator('.u-legend .u-series .u-value')
      .allInnerTexts()).slice(1); // the first is the epoch's
    const raw = await Promise.all(ids.map((id) => s.daemon.api('GET', `/v1/jobs/${id}/metrics`)
      .then((r) => r.metrics.map((m) => m.loss))));
    assert.deepEqual(await legendOf(), raw.map((v) => num(v[v.length - 1])));
    await page.locator('#smoothing').fill('0.9');
    await page.waitForFunction(() => document.querySelector('#smoothing + span, label span.mono')
      .textContent === '0.9');
    assert.deepEqual(await legendOf(), raw.map((v) => num(smooth(v, 0.9).pop())));
    // the log scale, asked for
    await page.locator('#log-scale').check();
    assert.equal(await page.locator('#charts .chart').nth(1).getAttribute('data-log'), 'true');
    await page.locator('#log-scale').uncheck();
    await screenshot(page, 'compare');
  });

  step('a search ranked by an evaluation names its metric and plots val_loss', async () => {
    const inputs = [];
    const labels = [];
    for (let i = 0; i < 30; i++) {
      inputs.push([i % 3 + ((i * 37) % 11) / 20, ((i * 53) % 7) / 10]);
      labels.push(['a', 'b', 'c'][i % 3]);
    }
    const train = await s.daemon.api('POST', '/v1/datasets', {name: 'three', inputs, labels});
    const val = await s.daemon.api('POST', '/v1/datasets', {name: 'three-val',
      inputs: inputs.slice(0, 9), labels: labels.slice(0, 9)});
    const created = await s.daemon.api('POST', '/v1/searches', {
      model: {name: 'three-search', inputs: 2, loss: 'cross_entropy', seed: 1,
        layers: [{type: 'dense', units: 4, activation: 'tanh'},
          {type: 'dense', units: 3, activation: 'softmax'}]},
      dataset: train.id, job: {epochs: 3, batch_size: 8, validation_dataset: val.id, seed: 1},
      space: {'model.layers[0].units': {choice: [2, 4]}}, method: 'grid',
      metric: 'evaluation.balanced_accuracy'});
    await page.goto(`${s.daemon.url}/#/searches/${created.id}`);
    await page.locator('main .page-header .badge-succeeded').waitFor();
    assert.match(await page.locator('main .page-header').innerText(),
      /evaluation\.balanced_accuracy \(max\)/);
    assert.match(await page.locator('#trials-table th button[data-sort="metric"]').textContent(),
      /^evaluation\.balanced_accuracy/);
    assert.match(await page.locator('#curve-note').innerText(),
      /^val_loss per epoch; evaluation\.balanced_accuracy is measured/);
    const api = await s.daemon.api('GET', `/v1/searches/${created.id}`);
    await page.waitForFunction(() => {
      const el = document.querySelector('#trials-chart');
      return el && el.dataset.series && JSON.parse(el.dataset.series).every(([, n]) => n === 3);
    });
    const series = JSON.parse(await page.locator('#trials-chart').getAttribute('data-series'));
    assert.deepEqual(series, api.trials.map((t) => [`trial ${t.trial}`, 3]), 'val_loss each epoch');
    const best = page.locator('#trials-table tr[data-best="true"] td[data-metric]');
    assert.equal(Number(await best.getAttribute('data-metric')), api.best.metric);
  });

  /* The compare page of ids: a series per job on each chart, with the epochs
   * it trained, and each config cell the job's JSON. */
  async function checkCompare(ids) {
    await page.locator('#compare-config').waitFor();
    const jobs = await Promise.all(ids.map((id) => s.daemon.api('GET', `/v1/jobs/${id}`)));
    for (const n of [0, 1]) {
      const chart = page.locator('#charts .chart').nth(n);
      await page.waitForFunction((i) => {
        const el = document.querySelectorAll('#charts .chart')[i];
        return el && el.dataset.series;
      }, n);
      const series = JSON.parse(await chart.getAttribute('data-series'));
      assert.deepEqual(series.map(([label]) => label), ids.map((id) => `#${id}`));
    }
    const loss = JSON.parse(await page.locator('#charts .chart').nth(0).getAttribute('data-series'));
    for (const [i, job] of jobs.entries()) {
      const {metrics} = await s.daemon.api('GET', `/v1/jobs/${job.id}/metrics`);
      assert.equal(loss[i][1], metrics.length, `job ${job.id}'s loss points`);
    }
    const want = jobs.map((j) => Object.fromEntries(leaves(j.config)));
    const keys = await page.locator('#compare-config tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.dataset.key));
    assert.deepEqual([...keys].sort(), [...new Set(want.flatMap(Object.keys))].sort());
    for (const key of keys) {
      const cells = await page.locator(`#compare-config tr[data-key="${key}"] td[data-job]`)
        .allInnerTexts();
      assert.deepEqual(cells, want.map((w) => (key in w ? JSON.stringify(w[key]) : '—')), key);
      const differs = new Set(cells).size > 1;
      assert.equal(await page.locator(`#compare-config tr[data-key="${key}"]`)
        .getAttribute('data-differs'), String(differs), key);
    }
  }

  step('the searches list once they ended', async () => {
    await page.goto(`${s.daemon.url}/#/searches`);
    const row = page.locator(`#searches-table tr[data-search="${sid}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'succeeded');
    const api = await s.daemon.api('GET', `/v1/searches/${sid}`);
    assert.match(await row.innerText(), new RegExp(`trial ${api.best.trial}`));
    await screenshot(page, 'searches');
  });

  test('every searches page has a screenshot', () => {
    checkRouteShots('searches');
  });
});

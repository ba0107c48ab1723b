// tables.test.js — the dashboard's typed tables and evaluations (issues 14
// and 15) in Chromium against a real traind: a table's columns with a chart
// each, the predict form of a model of a table (a field per column), and a
// model's evaluations (metrics, confusion matrix, curves, scatter), each
// held to what the API answers for the same thing.
// Every step fails on a console error, an uncaught exception, a failed
// request or an error answer the step does not expect.

import assert from 'node:assert/strict';
import {before, describe, test} from 'node:test';

import {binCounts} from '../../clients/web/js/bars.js';
import {num, pct} from '../../clients/web/js/format.js';
import {screenshot, watch} from './browser.js';
import {session} from './session.js';

const WAIT_MS = 180000; // training under the sanitizers on a loaded machine is slow
const ISLANDS = ['Biscoe', 'Dream', 'Torgersen'];
const SPECIES = ['Adelie', 'Chinstrap', 'Gentoo'];

function random(seed) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/** Penguin-like records: categories, blanks, integers, numbers, dates, booleans. */
function penguins(n = 90, seed = 5) {
  const rand = random(seed);
  return Array.from({length: n}, (_, i) => {
    const k = i % 3;
    const day = String(1 + Math.floor(rand() * 28)).padStart(2, '0');
    return {
      island: ISLANDS[(k + (rand() < 0.2 ? 1 : 0)) % 3],
      // overlapping classes: the confusion matrix has cells off its diagonal
      mass: i % 11 === 4 ? null : Math.round(3400 + 300 * k + rand() * 900),
      flipper: Number((180 + 4 * k + rand() * 14).toFixed(1)),
      sex: i % 7 === 3 ? null : (rand() < 0.5 ? 'female' : 'male'),
      tagged: rand() < 0.5,
      seen: `2021-0${1 + (i % 6)}-${day}`,
      species: SPECIES[k],
    };
  });
}

describe('tables and evaluations', () => {
  const s = session();
  let page;
  let watcher;
  let table; // the typed table dataset
  let numeric; // a numeric regression dataset
  let penguinNet; // a model of the table
  let lineNet; // a regression model of numbers
  const records = penguins();

  // A job to its end through the API (setup, not under test).
  async function train(model, dataset, epochs) {
    const job = await s.daemon.api('POST', '/v1/jobs', {model, dataset, epochs,
      optimizer: {type: 'adam', lr: 0.05}});
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const j = await s.daemon.api('GET', `/v1/jobs/${job.id}`);
      if (j.state === 'succeeded') return j;
      assert.ok(['queued', 'running'].includes(j.state), `job ${job.id} ${j.state}: ${j.error}`);
      assert.ok(Date.now() < deadline, `job ${job.id} still ${j.state}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  before(async () => {
    page = await s.browser.context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    watcher = watch(page);
    table = await s.daemon.api('POST', '/v1/datasets', {name: 'penguins', target: 'species',
      records});
    const rand = random(9);
    const inputs = Array.from({length: 60}, () => [rand() * 4 - 2, rand() * 4 - 2]);
    numeric = await s.daemon.api('POST', '/v1/datasets', {name: 'plane',
      inputs, targets: inputs.map(([a, b]) => [3 * a - 2 * b + 1 + (rand() - 0.5) * 0.2])});
    penguinNet = await s.daemon.api('POST', '/v1/models', {name: 'penguin-net',
      loss: 'cross_entropy', seed: 1,
      layers: [{type: 'dense', units: 3, activation: 'softmax'}]});
    lineNet = await s.daemon.api('POST', '/v1/models', {name: 'plane-net', inputs: 2,
      loss: 'mse', seed: 1, layers: [{type: 'dense', units: 1, activation: 'linear'}]});
    await train(penguinNet.id, table.id, 60);
    await train(lineNet.id, numeric.id, 200);
  });

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
  const unprocessable = (p) => p.status === 422 ||
    (p.kind === 'console' && p.text.includes('status of 422'));
  const counts = async (locator) => JSON.parse(await locator.getAttribute('data-counts'));
  // How many pixels of a canvas are of colour #rrggbb: what a chart drew.
  const pixels = (locator, rgb) => locator.evaluate((c, [r, g, b]) => {
    const {data} = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      n += data[i] === r && data[i + 1] === g && data[i + 2] === b ? 1 : 0;
    }
    return n;
  }, [1, 3, 5].map((i) => parseInt(rgb.slice(i, i + 2), 16)));
  const statValue = (label) => page.locator('#evaluation .stat')
    .filter({has: page.locator('.stat-label', {hasText: new RegExp(`^${label}$`)})})
    .locator('.stat-value').innerText();

  step('a table\'s page lists its columns, a histogram or the top categories each', async () => {
    await page.goto(`${s.daemon.url}/#/datasets`);
    await page.locator(`#datasets-table a[href="#/datasets?dataset=${table.id}"]`).click();
    await page.locator('#dataset-profile').waitFor();
    const d = await s.daemon.api('GET', `/v1/datasets/${table.id}`);
    const rows = page.locator('#dataset-profile tbody tr');
    assert.equal(await rows.count(), d.columns.length);
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.column)),
      d.columns.map((c) => c.name));
    for (const c of d.columns) {
      const row = page.locator(`#dataset-profile tr[data-column="${c.name}"]`);
      const cells = await row.locator('td').allInnerTexts();
      assert.equal(cells[1], c.type, c.name);
      assert.equal(cells[2], String(c.missing), `${c.name} missing`);
      assert.equal(cells[3], String(c.distinct), `${c.name} distinct`);
      const canvas = row.locator('canvas.bars');
      if (['number', 'integer', 'datetime'].includes(c.type)) {
        // a bar a bin, as the daemon counted them, every present value in one
        assert.ok(c.histogram.length >= 1 && c.histogram.length <= 20, c.name);
        assert.equal(await canvas.getAttribute('data-bars'), String(c.histogram.length));
        assert.deepEqual(await counts(canvas), c.histogram);
        assert.equal(c.histogram.reduce((a, b) => a + b, 0), d.rows - c.missing, c.name);
      } else {
        assert.equal(c.histogram, null, c.name);
        assert.deepEqual(await counts(canvas), c.top.map((t) => t.count), c.name);
      }
    }
    // 20 bins for flipper (more than 20 distinct values), from min to max,
    // as the dashboard's own binning counts the values uploaded
    const flipper = d.columns.find((c) => c.name === 'flipper');
    assert.equal(flipper.histogram.length, 20);
    assert.deepEqual(binCounts(records.map((r) => r.flipper), 20, flipper.min, flipper.max),
      flipper.histogram);
    const label = await page.locator('#dataset-profile tr[data-column="flipper"] canvas')
      .getAttribute('aria-label');
    assert.ok(label.startsWith(`${num(flipper.min)} – `), label);
    assert.ok(label.includes(` – ${num(flipper.max)}: ${flipper.histogram[19]}`), label);
    // a date column's bins read as dates, from its first day to its last
    const seen = d.columns.find((c) => c.name === 'seen');
    const dates = await page.locator('#dataset-profile tr[data-column="seen"] canvas')
      .getAttribute('aria-label');
    assert.ok(dates.startsWith(`${seen.min.slice(0, 10)} – `), dates);
    assert.ok(dates.includes(` – ${seen.max.slice(0, 10)}: `), dates);
    // the island column's bars are its three islands' counts
    const island = page.locator('#dataset-profile tr[data-column="island"] canvas');
    assert.equal(await island.getAttribute('data-bars'), '3');
    assert.match(await page.locator('#dataset-detail-shape').innerText(),
      /^90 rows × 6 features, 3 classes: Adelie, Chinstrap, Gentoo$/);
    await screenshot(page, 'dataset-table');
  });

  step('a table uploaded from the form links to its columns', async () => {
    await page.goto(`${s.daemon.url}/#/datasets`);
    await page.setInputFiles('#dataset-file', {name: 'birds.csv', mimeType: 'text/csv',
      buffer: Buffer.from('island,mass,species\nBiscoe,4200,Gentoo\nDream,,Adelie\n' +
        'Dream,3300,Adelie\nBiscoe,5000,Gentoo\n')});
    await page.click('#dataset-submit');
    await page.locator('#dataset-columns').click();
    await page.locator('#dataset-profile').waitFor();
    assert.match(page.url(), /#\/datasets\?dataset=\d+$/);
    const mass = page.locator('#dataset-profile tr[data-column="mass"]');
    assert.deepEqual((await mass.locator('td').allInnerTexts()).slice(1, 4), ['integer', '1', '3']);
    assert.deepEqual(await counts(mass.locator('canvas')), [1, 1, 1]);
  });

  step('a numeric dataset\'s page has no column profile; an unknown one says so', async () => {
    await page.goto(`${s.daemon.url}/#/datasets?dataset=${numeric.id}`);
    await page.locator('#dataset-detail-shape').waitFor();
    assert.match(await page.locator('#dataset-detail').innerText(), /every column is a number/);
    assert.equal(await page.locator('#dataset-profile').count(), 0);
    await page.goto(`${s.daemon.url}/#/datasets?dataset=999`);
    await page.locator('#dataset-detail .empty').waitFor();
    assert.match(await page.locator('#dataset-detail').innerText(), /999/);
  }, (p) => p.status === 404 || (p.kind === 'console' && p.text.includes('status of 404')));

  step('a model of a table predicts from a field per column, as the API does', async () => {
    const m = await s.daemon.api('GET', `/v1/models/${penguinNet.id}`);
    await page.goto(`${s.daemon.url}/#/models/${m.id}`);
    await page.locator('#predict-record').waitFor();
    assert.equal(await page.locator('#predict-inputs').count(), 0, 'no textarea');
    const fields = page.locator('#predict-record [data-column]');
    assert.deepEqual(await fields.evaluateAll((els) => els.map((e) =>
      [e.dataset.column, e.dataset.type, e.tagName, e.type])),
    m.encoding.columns.map((c) => [c.name, c.type,
      ['category', 'boolean'].includes(c.type) ? 'SELECT' : 'INPUT',
      {category: 'select-one', boolean: 'select-one', datetime: 'date'}[c.type] || 'number']));
    for (const c of m.encoding.columns.filter((x) => x.type === 'category')) {
      const options = await page.locator(`#predict-record select[data-column="${c.name}"] option`)
        .evaluateAll((os) => os.map((o) => o.value));
      assert.deepEqual(options, ['', ...c.categories], `${c.name}: blank, then the kept ones`);
    }
    const field = (name) => `#predict-record [data-column="${name}"]`;
    await page.selectOption(field('island'), 'Dream');
    await page.fill(field('mass'), '4300');
    await page.fill(field('flipper'), '195.5');
    await page.selectOption(field('tagged'), 'true');
    await page.fill(field('seen'), '2021-04-15');
    // sex stays blank: missing
    await page.click('#predict-submit');
    await page.locator('#predict-table tbody tr').waitFor();
    const record = {island: 'Dream', mass: 4300, flipper: 195.5, sex: null, tagged: true,
      seen: '2021-04-15'};
    const want = await s.daemon.api('POST', `/v1/models/${m.id}/predict`, {records: [record]});
    const cells = await page.locator('#predict-table tbody tr td').allInnerTexts();
    assert.equal(cells[0], 'island=Dream, mass=4300, flipper=195.5, tagged=true, seen=2021-04-15');
    assert.deepEqual(cells.slice(1, 4), want.outputs[0].map((v) => v.toFixed(3)));
    assert.equal(cells[4], want.labels[0]);
    assert.deepEqual(await page.locator('#predict-table thead th').allTextContents(),
      ['Input', 'Adelie', 'Chinstrap', 'Gentoo', 'Label']);
    await screenshot(page, 'model-table');
  });

  step('an untrained model of a table says its fields come with its first table', async () => {
    const fresh = await s.daemon.api('POST', '/v1/models', {name: 'fresh-net',
      loss: 'cross_entropy', layers: [{type: 'dense', units: 3, activation: 'softmax'}]});
    await page.goto(`${s.daemon.url}/#/models/${fresh.id}`);
    await page.locator('#predict-columns-later').waitFor();
    assert.equal(await page.locator('#predict-inputs, #predict-record').count(), 0);
    assert.equal(await page.locator('#predict-submit').isDisabled(), true);
    assert.equal(await page.locator('#evaluate-submit').isDisabled(), true);
    assert.match(await page.locator('#evaluations-table').innerText(), /Train the model first/);
    assert.match(await page.locator('.props').innerText(),
      /Inputs\s+the columns of its first table/);
    await s.daemon.api('DELETE', `/v1/models/${fresh.id}`);
  });

  step('a dataset the model cannot take is refused under the form', async () => {
    await page.goto(`${s.daemon.url}/#/models/${penguinNet.id}`);
    await page.locator('#evaluate-form').waitFor();
    assert.match(await page.locator('#evaluations-table').innerText(), /Not evaluated yet/);
    await page.selectOption('#evaluate-dataset', String(numeric.id));
    await page.click('#evaluate-submit');
    await page.locator('#evaluate-error:not([hidden])').waitFor();
    assert.match(await page.locator('#evaluate-error').innerText(), /^dataset: /);
    assert.equal(await page.locator('#evaluation').innerText(), '');
  }, unprocessable);

  step('an evaluation shows the API\'s metrics, confusion matrix and curves', async () => {
    await page.selectOption('#evaluate-dataset', String(table.id));
    await page.click('#evaluate-submit');
    await page.locator('#confusion-matrix').waitFor();
    const {evaluations} = await s.daemon.api('GET', `/v1/models/${penguinNet.id}/evaluations`);
    assert.equal(evaluations.length, 1);
    const e = await s.daemon.api('GET',
      `/v1/models/${penguinNet.id}/evaluations/${evaluations[0].id}`);
    const x = e.metrics;
    assert.equal(e.rows, 90);
    assert.deepEqual(await page.locator('#confusion-matrix thead th').allTextContents(),
      ['actual ╲ predicted', ...x.labels]);
    assert.deepEqual(await page.locator('#confusion-matrix tbody th').allTextContents(), x.labels);
    const matrix = await page.locator('#confusion-matrix tbody tr').evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.dataset.count))));
    assert.deepEqual(matrix, x.confusion_matrix);
    assert.equal(matrix.flat().reduce((a, b) => a + b, 0), 90);
    assert.ok(matrix.some((row, i) => row.some((v, j) => i !== j && v > 0)), 'some mistakes');
    assert.ok(matrix.some((row, i) => row.some((v, j) => v !== matrix[j][i])), 'not symmetric');
    assert.equal(await statValue('Accuracy'), pct(x.accuracy));
    assert.equal(await statValue('Log loss'), num(x.log_loss));
    assert.equal(await statValue('ROC AUC'), num(x.roc_auc));
    assert.deepEqual(await page.locator('#per-class tbody tr td:first-child').allInnerTexts(),
      x.per_class.map((c) => c.label));
    // a curve a class, with all its points, and the chance line
    const series = async (id) => JSON.parse(await page.locator(`#${id}`)
      .getAttribute('data-series'));
    assert.deepEqual(await series('roc-curve'), [...x.roc_curves.map((c) =>
      [x.labels[c.class], c.fpr.length]), ['chance', 2]]);
    assert.deepEqual(await series('pr-curve'), x.pr_curves.map((c) =>
      [x.labels[c.class], c.recall.length]));
    for (const id of ['roc-curve', 'pr-curve']) {
      const drawn = await pixels(page.locator(`#${id} canvas`), '#4f46e5');
      assert.ok(drawn >= 50, `${id}: ${drawn} pixels of the first class's curve`);
    }
    const listed = page.locator('#evaluations-table tbody tr');
    assert.equal(await listed.count(), 1);
    assert.match(await listed.innerText(), new RegExp(`penguins[\\s\\S]*accuracy ${
      pct(x.accuracy).replace('.', '\\.')}`));
    await screenshot(page, 'model-evaluation');
  });

  step('a regression model keeps its textarea; its evaluation draws actual against predicted',
    async () => {
      await page.goto(`${s.daemon.url}/#/models/${lineNet.id}`);
      await page.locator('#predict-inputs').waitFor();
      assert.equal(await page.locator('#predict-record').count(), 0);
      await page.selectOption('#evaluate-dataset', String(numeric.id));
      await page.click('#evaluate-submit');
      await page.locator('#scatter-chart canvas').waitFor();
      const [summary] = (await s.daemon.api('GET', `/v1/models/${lineNet.id}/evaluations`))
        .evaluations;
      const x = (await s.daemon.api('GET',
        `/v1/models/${lineNet.id}/evaluations/${summary.id}`)).metrics;
      assert.equal(await statValue('RMSE'), num(x.rmse));
      assert.equal(await statValue('R²'), num(x.r2));
      assert.equal(await statValue('Max error'), num(x.max_error));
      assert.deepEqual(JSON.parse(await page.locator('#scatter-chart').getAttribute('data-series')),
        [['rows', 60], ['predicted = actual', 2]]);
      assert.equal(x.sample.actual.length, 60);
      // the dots are drawn: pixels of the first series' colour
      const dots = await pixels(page.locator('#scatter-chart canvas'), '#4f46e5');
      assert.ok(dots >= 60, `${dots} pixels of dots`);
      const residuals = await counts(page.locator('#residual-histogram canvas'));
      assert.ok(residuals.length >= 1 && residuals.length <= 20, `${residuals.length} bins`);
      assert.equal(residuals.reduce((a, b) => a + b, 0), 60, 'every sampled row in a bin');
      await screenshot(page, 'model-regression');
    });

  step('a second evaluation is listed first and shown; a click shows the older one', async () => {
    await page.goto(`${s.daemon.url}/#/models/${penguinNet.id}`);
    await page.locator('#confusion-matrix').waitFor();
    const e2 = await s.daemon.api('POST', `/v1/models/${penguinNet.id}/evaluate`,
      {dataset: table.id});
    await page.reload();
    const rows = page.locator('#evaluations-table tbody tr');
    await rows.nth(1).waitFor();
    assert.equal(await rows.nth(0).getAttribute('data-evaluation'), String(e2.id));
    await page.locator(`#evaluation .chart-title`, {hasText: `Evaluation #${e2.id} `}).waitFor();
    const older = await rows.nth(1).getAttribute('data-evaluation');
    await rows.nth(1).click();
    await page.locator(`#evaluation .chart-title`, {hasText: `Evaluation #${older} `}).waitFor();
    assert.match(await rows.nth(1).getAttribute('class'), /highlight/);
  });
});

// reconnect.test.js — the job page rides out a daemon restart: its stream
// reconnects with backoff, resumes after the last event it saw
// (Last-Event-ID), and the curve goes on from where it was.

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {watch} from './browser.js';
import {session} from './session.js';
import {irisCsv} from './data.js';

const WAIT_MS = 180000;

const s = session();

/* What a page sees while its daemon is away: refused connections, streams cut short. */
function downtime(p) {
  return /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_INCOMPLETE_CHUNKED_ENCODING|ERR_CONNECTION_RESET|Failed to fetch/
    .test(p.text);
}

test('a daemon restart: the stream reconnects and the curve goes on', async () => {
  const res = await fetch(`${s.daemon.url}/v1/datasets?name=iris&target=species`, {method: 'POST',
    headers: {'Content-Type': 'text/csv'}, body: irisCsv()});
  assert.equal(res.status, 201);
  await s.daemon.api('POST', '/v1/models', {name: 'iris-net', inputs: 4, loss: 'cross_entropy',
    normalize: true, layers: [{type: 'dense', units: 32, activation: 'tanh'},
      {type: 'dense', units: 3, activation: 'softmax'}]});
  await s.daemon.api('POST', '/v1/jobs', {model: 1, dataset: 1, epochs: 1000000, batch_size: 8});

  const page = await s.browser.context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const watcher = watch(page);
  const chart = page.locator('#charts .chart').first();
  const points = async () => Number(await chart.getAttribute('data-points') || 0);
  await page.goto(`${s.daemon.url}/#/jobs/1`);
  await page.locator('.page-header h1 .badge', {hasText: 'running'}).waitFor();
  await page.waitForFunction(() =>
    Number(document.querySelector('#charts .chart')?.dataset.points || 0) >= 3);

  const since = watcher.count();
  assert.equal(await s.daemon.stop(), 0, s.daemon.logTail());
  await page.locator('#live[data-state="reconnecting"]').waitFor();
  const before = await points();
  await s.daemon.restart();
  await page.locator('#live[data-state="live"]').waitFor();
  await page.waitForFunction((n) =>
    Number(document.querySelector('#charts .chart')?.dataset.points || 0) > n + 2, before);
  await page.locator('.page-header h1 .badge', {hasText: 'running'}).waitFor();
  const restartProblems = watcher.problems(downtime, since);
  assert.deepEqual(restartProblems, [], 'only the downtime\'s refused connections');

  const quiet = watcher.count();
  await page.click('#cancel-job');
  await page.locator('.page-header h1 .badge', {hasText: 'cancelled'}).waitFor();
  await page.locator('#live[data-state="ended"]').waitFor();
  // One point per epoch: none lost across the restart, none twice.
  const epoch = Number((await page.locator('.stat .stat-value').first().innerText()).split(' ')[0]);
  assert.ok(epoch > before);
  assert.equal(await points(), epoch);
  assert.deepEqual(watcher.problems(() => false, quiet), []);
  await page.close();
});

// token.test.js — a traind that requires a token: the dashboard asks for it
// once, retries with it, keeps it for the tab, and asks again when it is refused.

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {screenshot, watch} from './browser.js';
import {session} from './session.js';

const TOKEN = 'browser-test-token';

const s = session(['--token', TOKEN]);

test('the token is asked for on a 401, kept for the tab and sent as a bearer token', async () => {
  await s.daemon.api('POST', '/v1/models', {name: 'tiny', inputs: 2, loss: 'mse',
    layers: [{type: 'dense', units: 1}]}, TOKEN);
  const page = await s.browser.context.newPage();
  const watcher = watch(page);
  const sent = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/v1/')) sent.push(r.headers().authorization);
  });

  await page.goto(`${s.daemon.url}/#/models`);
  const dialog = page.locator('#token-dialog[open]');
  await dialog.waitFor();
  assert.match(await page.locator('#token-message').innerText(), /requires a bearer token/);
  await screenshot(page, 'token');

  await page.fill('#token-input', 'wrong-token');
  await page.press('#token-input', 'Enter');
  await page.locator('#token-message', {hasText: 'not accepted'}).waitFor();
  assert.equal(await dialog.count(), 1, 'asked again');

  await page.fill('#token-input', TOKEN);
  await page.click('#token-form button[type="submit"]');
  await page.locator('#models-table tr[data-model="1"]').waitFor();
  assert.equal(await dialog.count(), 0);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('traind.token')), TOKEN);
  assert.ok(sent.includes(`Bearer ${TOKEN}`), 'sent as a bearer token');

  const before401 = watcher.count();
  assert.ok(before401 > 0, 'the first requests met 401s');
  assert.deepEqual(watcher.problems((p) => p.status === 401 ||
    (p.kind === 'console' && p.text.includes('status of 401'))), [], 'and nothing else');

  // A reload keeps the token (sessionStorage): no prompt, no new 401.
  await page.reload();
  await page.locator('#models-table tr[data-model="1"]').waitFor();
  await page.goto(`${s.daemon.url}/#/jobs`);
  await page.locator('#live[data-state="live"]').waitFor();
  assert.equal(await dialog.count(), 0);
  assert.deepEqual(watcher.problems(() => false, before401), [], 'nothing failed after the token');
  await page.close();
});

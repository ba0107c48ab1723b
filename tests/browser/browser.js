// browser.js — Debian's headless Chromium driven by playwright-core, with a
// watch on everything that goes wrong in the page: console errors, uncaught
// exceptions, failed requests and error answers. Screenshots go to
// $SHOTS_DIR (the Makefile's build/browser-shots).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {chromium} from 'playwright-core';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const SHOTS = process.env.SHOTS_DIR || path.join(ROOT, 'build', 'browser-shots');
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A fresh browser profile; close() removes it. */
export async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'traind-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: {width: 1360, height: 900},
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, {recursive: true, force: true});
    },
  };
}

/**
 * Record what goes wrong in a page. Requests the page aborts itself when it
 * leaves a view (its event streams) are not failures; expected error answers
 * (a 401 before the token is entered) are allowed by the test that causes them.
 * @return {problems(allowed, since) → [messages], count()}
 */
export function watch(page) {
  const seen = [];
  page.on('console', (m) => {
    if (m.type() === 'error') seen.push({kind: 'console', text: m.text()});
  });
  page.on('pageerror', (e) => seen.push({kind: 'exception', text: e.message}));
  page.on('requestfailed', (r) => {
    const reason = r.failure() ? r.failure().errorText : '';
    if (reason === 'net::ERR_ABORTED' && /\/events$/.test(new URL(r.url()).pathname)) return;
    seen.push({kind: 'request', text: `${r.method()} ${r.url()}: ${reason}`});
  });
  page.on('response', (r) => {
    if (r.status() >= 400) {
      seen.push({kind: 'response', status: r.status(), text: `${r.request().method()} ${r.url()}: ${r.status()}`});
    }
  });
  return {
    /**
     * @param allowed (problem) → true for the ones the test expects
     * @param since   count() when the part of the test that matters began
     */
    problems(allowed = () => false, since = 0) {
      return seen.slice(since).filter((p) => !allowed(p)).map((p) => `${p.kind}: ${p.text}`);
    },
    count() {
      return seen.length;
    },
  };
}

/** The screenshots this process saved: [{name, file, hash (the page's route)}]. */
export const shots = [];

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Check that file holds a PNG image of at least one pixel: its signature,
 * then the IHDR chunk with the width and height.
 * @return {width, height}
 */
export function checkPng(file) {
  const data = fs.readFileSync(file);
  if (data.length < 24 || !data.subarray(0, 8).equals(PNG_SIGNATURE) ||
      data.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error(`${file}: not a PNG image (${data.length} bytes)`);
  }
  const size = {width: data.readUInt32BE(16), height: data.readUInt32BE(20)};
  if (size.width === 0 || size.height === 0) throw new Error(`${file}: an empty image`);
  return size;
}

/**
 * A full-page screenshot, once the transient notices have faded. The file of
 * an earlier run is removed first, so the one checked is this run's.
 */
export async function screenshot(page, name) {
  await page.waitForFunction(() => !document.querySelector('.toast'), null, {timeout: 10000});
  fs.mkdirSync(SHOTS, {recursive: true});
  const file = path.join(SHOTS, `${name}.png`);
  fs.rmSync(file, {force: true});
  await page.screenshot({path: file, fullPage: true});
  checkPng(file);
  shots.push({name, file, hash: new URL(page.url()).hash});
}

/**
 * The test file that screenshots each page of the dashboard (app.js's route
 * `page` names): a new route needs its entry here, and that file's shot.
 */
export const SHOT_OWNERS = {
  jobs: 'dashboard', newJob: 'dashboard', job: 'dashboard', models: 'dashboard',
  model: 'dashboard', datasets: 'dashboard', searches: 'searches', search: 'searches',
  compare: 'searches',
};

/**
 * Every route of app.js has an owner in SHOT_OWNERS, and each route owner
 * (this test file) owns has a screenshot of at least 1000 × 600 among the
 * shots this process saved.
 */
export function checkRouteShots(owner) {
  const app = fs.readFileSync(path.join(ROOT, 'clients/web/js/app.js'), 'utf8');
  const routes = [...app.matchAll(/\{path: \/(.+?)\/, page: (\w+)/g)]
    .map(([, re, name]) => ({re: new RegExp(re), name}));
  if (routes.length === 0) throw new Error('no routes found in app.js');
  for (const {re, name} of routes) {
    if (!SHOT_OWNERS[name]) throw new Error(`the ${name} page (${re}) has no SHOT_OWNERS entry`);
    if (SHOT_OWNERS[name] !== owner) continue;
    const shot = shots.find((x) => re.test(x.hash.slice(1).split('?')[0] || '/jobs'));
    if (!shot) throw new Error(`no screenshot of the ${name} page (${re})`);
    const {width, height} = checkPng(shot.file);
    if (width < 1000 || height < 600) throw new Error(`${shot.file}: ${width} × ${height}`);
  }
}

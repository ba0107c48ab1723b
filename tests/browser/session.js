// session.js — what every browser test file starts with: its own traind (on
// a free port, with a temporary database) and a fresh browser, stopped after
// its tests; the daemon must exit 0.

import assert from 'node:assert/strict';
import {after, before} from 'node:test';

import {launch} from './browser.js';
import {Daemon} from './daemon.js';

/**
 * Register the before/after hooks of the calling file or suite.
 * @param {string[]} args extra traind flags
 * @return {{daemon: Daemon, browser: object}} filled once the before hook ran
 */
export function session(args = []) {
  const s = {daemon: null, browser: null};
  before(async () => {
    s.daemon = await new Daemon(args).start();
    s.browser = await launch();
  });
  after(async () => {
    if (s.browser) await s.browser.close();
    if (s.daemon) assert.equal(await s.daemon.stop(), 0, `traind exit\n${s.daemon.logTail()}`);
  });
  return s;
}

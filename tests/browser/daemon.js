// daemon.js — a real traind for a test: 127.0.0.1 port 0, a database in a
// fresh temporary folder, its log in that folder (printed when a test fails).

import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const TRAIND = process.env.TRAIND_BIN || path.join(ROOT, 'build', 'traind');
const START_TIMEOUT_MS = 30000;

export class Daemon {
  /** @param extra more command line arguments, e.g. ['--token', 'T'] */
  constructor(extra = []) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'traind-browser-'));
    this.logPath = path.join(this.dir, 'traind.log');
    this.args = ['--listen', '127.0.0.1:0', '--db', path.join(this.dir, 'db.sqlite'),
      '--workers', '2', ...extra];
    this.proc = null;
    this.url = null;
  }

  /**
   * Start again after stop(), on the same address and database: a daemon restart.
   */
  async restart() {
    const port = new URL(this.url).port;
    this.args[this.args.indexOf('--listen') + 1] = `127.0.0.1:${port}`;
    return this.start();
  }

  /** Start, and resolve once it prints "listening on URL". */
  async start() {
    const log = fs.openSync(this.logPath, 'a');
    this.proc = spawn(TRAIND, this.args, {
      stdio: ['ignore', 'pipe', log],
      env: {...process.env, OPENBLAS_NUM_THREADS: '1'},
    });
    fs.closeSync(log);
    const exited = new Promise((resolve) => this.proc.once('exit', (code, signal) =>
      resolve(code ?? signal)));
    this.exited = exited;
    const lines = readline.createInterface({input: this.proc.stdout});
    const first = new Promise((resolve) => lines.once('line', resolve));
    let timer;
    const line = await Promise.race([
      first,
      exited.then((rc) => `exited ${rc}`),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('no answer'), START_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!line.startsWith('listening on ')) {
      this.proc.kill('SIGKILL');
      throw new Error(`traind did not start: ${line}\n${this.logTail()}`);
    }
    this.url = line.split(' ').pop();
    return this;
  }

  /** SIGTERM and wait: a clean stop exits 0 (under ASan: without leaks). */
  async stop() {
    if (!this.proc) return 0;
    this.proc.kill('SIGTERM');
    let timer;
    const rc = await Promise.race([this.exited, new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), START_TIMEOUT_MS);
    })]);
    clearTimeout(timer);
    if (rc === 'timeout') {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
    this.proc = null;
    return rc;
  }

  logTail(lines = 40) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** A JSON API call from the test itself (setup that is not under test). */
  async api(method, p, body, token) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(this.url + p, {method, headers,
      body: body === undefined ? undefined : JSON.stringify(body)});
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(data)}`);
    return data;
  }
}

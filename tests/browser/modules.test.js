// modules.test.js — the dashboard's pure functions, run in Node: the event
// stream parser, CSV headers, prediction input rows, number formats.

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {num, pct, duration} from '../../clients/web/js/format.js';
import {csvHeader, nameFromFile} from '../../clients/web/js/pages/datasets.js';
import {parseRows} from '../../clients/web/js/pages/model.js';
import {behind} from '../../clients/web/js/resources.js';
import {SseParser} from '../../clients/web/js/sse.js';

function parse(...pieces) {
  const events = [];
  const p = new SseParser((e) => events.push(e));
  for (const piece of pieces) p.push(piece);
  return events;
}

test('sse: events with ids, types and data', () => {
  const events = parse('id: 1\nevent: state\ndata: {"id":3}\n\n',
    'id: 2\nevent: epoch\ndata: {"job":3,"epoch":1}\n\n');
  assert.deepEqual(events, [
    {id: '1', event: 'state', data: '{"id":3}'},
    {id: '2', event: 'epoch', data: '{"job":3,"epoch":1}'},
  ]);
});

test('sse: split anywhere, CRLF and CR line ends', () => {
  // A CR at the end could be half a CRLF: the comment after it settles that.
  const text = 'id: 7\r\nevent: checkpoint\r\ndata: {"a":1}\r\n\r\nid: 8\revent: epoch\rdata: x\r\r: k\n';
  for (let cut = 0; cut <= text.length; cut++) {
    const events = parse(text.slice(0, cut), text.slice(cut));
    assert.deepEqual(events, [{id: '7', event: 'checkpoint', data: '{"a":1}'},
      {id: '8', event: 'epoch', data: 'x'}], `cut at ${cut}`);
  }
  // One character at a time, a CRLF split between its two halves included.
  assert.equal(parse(...'data: a\r\n\r\n').length, 1);
});

test('sse: comments, keepalives, multi-line data and no-data events', () => {
  const events = parse(': keepalive\n\n', 'event: state\n\n', 'data: a\ndata: b\n\n',
    'data:no-space\n\n', 'unknown: x\ndata: y\n\n');
  assert.deepEqual(events.map((e) => [e.event, e.data]),
    [['message', 'a\nb'], ['message', 'no-space'], ['message', 'y']]);
});

test('sse: the last id carries over until a new one', () => {
  const events = parse('id: 5\ndata: a\n\ndata: b\n\nid: 6\ndata: c\n\n');
  assert.deepEqual(events.map((e) => e.id), ['5', '5', '6']);
});

test('sse: an event without its blank line is not dispatched yet', () => {
  assert.equal(parse('id: 1\nevent: state\ndata: {}\n').length, 0);
});

test('csv header: quoting and line ends', () => {
  assert.deepEqual(csvHeader('a,b,species\n1,2,x\n'), ['a', 'b', 'species']);
  assert.deepEqual(csvHeader('"sepal, length","say ""hi""",c\r\n1,2,3'),
    ['sepal, length', 'say "hi"', 'c']);
  assert.deepEqual(csvHeader(' x , y '), ['x', 'y']);
  assert.deepEqual(csvHeader(''), []);
});

test('dataset names from file names', () => {
  assert.equal(nameFromFile('iris.csv'), 'iris');
  assert.equal(nameFromFile('my data (2).csv'), 'my-data-2');
  assert.equal(nameFromFile('a.b.csv'), 'a.b');
});

test('prediction rows', () => {
  assert.deepEqual(parseRows('1, 2, 3\n\n4 5 6\n 7;8;9 \n'), [[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  assert.deepEqual(parseRows('-1.5e2,0.25'), [[-150, 0.25]]);
  assert.deepEqual(parseRows('  \n'), []);
  assert.throws(() => parseRows('1,2\n3,x'), /"x" on line 2 is not a number/);
  assert.throws(() => parseRows('Infinity'), /not a number/);
});

test('formats', () => {
  assert.equal(num(null), '—');
  assert.equal(num(0.123456), '0.1235');
  assert.equal(num(1.5e-5), '1.50e-5');
  assert.equal(num(0), '0');
  assert.equal(pct(0.9731), '97.3%');
  assert.equal(pct(null), '—');
  assert.equal(duration(0), '< 1 s');
  assert.equal(duration(42), '42 s');
  assert.equal(duration(185), '3 m 05 s');
  assert.equal(duration(7800), '2 h 10 m');
});

test('a job snapshot behind what the stream said is recognised', () => {
  const job = (state, epoch, more = {}) => ({state, epoch, restarts: 0, cancel_requested: false,
    ...more});
  const cancelling = job('running', 7, {cancel_requested: true});
  assert.ok(behind(cancelling, job('cancelled', 7, {cancel_requested: true})),
    'a cancel\'s answer after the cancelled event');
  assert.ok(behind(job('running', 5), job('running', 6)));
  assert.ok(behind(job('queued', 0), job('running', 0)));
  assert.ok(behind(job('running', 9), job('running', 3, {restarts: 1})), 'resumed from a checkpoint');
  assert.ok(!behind(job('running', 6), job('running', 6)), 'the same state is not behind');
  assert.ok(!behind(job('succeeded', 10), job('running', 9)));
  assert.ok(!behind(cancelling, job('running', 7)));
});

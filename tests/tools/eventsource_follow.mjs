// eventsource_follow.mjs URL SECONDS — follow an event stream with the npm
// `eventsource` package, the WHATWG EventSource that browsers implement
// (reconnects with Last-Event-ID after the server ends a stream, stops for
// good on any answer but 200 text/event-stream), and print what it sees as
// JSON lines: {"type":"open"}, {"type":"state"|"epoch"|"checkpoint"|"search","id"},
// {"type":"error","code","readyState"}, then {"type":"closed"} once the
// EventSource gave up reconnecting, or {"type":"timeout"} after SECONDS.
// Driven by tests/e2e/test_events.py and test_search.py.
import {EventSource} from 'eventsource';

const [url, seconds] = process.argv.slice(2);
const start = Date.now();
const print = (o) => process.stdout.write(`${JSON.stringify({...o, ms: Date.now() - start})}\n`);
const es = new EventSource(url);

es.onopen = () => print({type: 'open'});
for (const name of ['state', 'epoch', 'checkpoint', 'search'])
  es.addEventListener(name, (e) => print({type: name, id: e.lastEventId}));
es.onerror = (e) => {
  print({type: 'error', code: e.code ?? null, readyState: es.readyState});
  if (es.readyState === EventSource.CLOSED) {
    print({type: 'closed'});
    process.exit(0);
  }
};
setTimeout(() => {
  print({type: 'timeout', readyState: es.readyState});
  es.close();
  process.exit(0);
}, Number(seconds) * 1000);

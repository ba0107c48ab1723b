// sse.js — the text/event-stream format, parsed from text as it arrives
// (the HTML standard's rules: "field: value" lines, a blank line ends an
// event, ":" starts a comment, lines end in LF, CRLF or CR).

export class SseParser {
  /** @param onEvent called with {id, event, data} for each complete event */
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.lastId = '';
    this.reset();
  }

  reset() {
    this.event = '';
    this.data = [];
  }

  /** Feed the next piece of text; an event or line may span pieces. */
  push(text) {
    this.buffer += text;
    let start = 0;
    for (;;) {
      const cr = this.buffer.indexOf('\r', start);
      const lf = this.buffer.indexOf('\n', start);
      let end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      if (end < 0) break;
      let next = end + 1;
      if (this.buffer[end] === '\r') {
        // A CR at the very end may be the first half of a CRLF: wait.
        if (next === this.buffer.length) break;
        if (this.buffer[next] === '\n') next++;
      }
      this.line(this.buffer.slice(start, end));
      start = next;
    }
    this.buffer = this.buffer.slice(start);
  }

  line(line) {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line[0] === ':') return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
  }

  dispatch() {
    if (this.data.length > 0) {
      this.onEvent({id: this.lastId, event: this.event || 'message', data: this.data.join('\n')});
    }
    this.reset();
  }
}

// events.js — following a traind event stream (text/event-stream) with
// fetch(), since EventSource cannot send the Authorization header.
//
// The stream is resumed where it stopped: each reconnect sends the last
// event id seen as Last-Event-ID, so events missed meanwhile (a daemon
// restart, a dropped connection) are replayed. Reconnects back off from
// half a second to 15 s, with jitter, and start over at the first event.

import {ApiError, authHeaders, token, unauthorized} from './api.js';
import {SseParser} from './sse.js';

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;

/**
 * Follow an event stream until close() is called, or until it ends as expected.
 * @param path      '/v1/events' or '/v1/jobs/7/events'
 * @param onEvent   (type, data, id): 'state' | 'epoch' | 'checkpoint', data parsed
 * @param onStatus  ('connecting' | 'live' | 'reconnecting' | 'ended' | 'error')
 * @param finished  () → true when the server closing the stream is its end (the
 *                  job reached a final state); otherwise a close is reconnected
 * @param onError   (ApiError): the stream cannot be had (404, 400...); no retry
 * @return {close()}
 */
export function follow(path, {onEvent, onStatus = () => {}, finished = () => false,
  onError = () => {}}) {
  let closed = false;
  let lastId = '';
  let delay = BACKOFF_FIRST_MS;
  let controller = null;
  let wake = null; // resolves the current backoff pause early, on close()

  const pause = () => {
    onStatus('reconnecting');
    const wait = delay * (0.75 + Math.random() * 0.5);
    delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, wait);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  };

  const received = (ev) => {
    if (ev.id) lastId = ev.id;
    delay = BACKOFF_FIRST_MS;
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return; // not ours to interpret; the contract sends JSON only
    }
    onEvent(ev.event, data, ev.id);
  };

  // One connection. @return what next: 'retry' after a pause, 'now', or 'stop'.
  const connect = async () => {
    controller = new AbortController();
    const sent = token();
    const headers = authHeaders({Accept: 'text/event-stream'});
    if (lastId) headers.set('Last-Event-ID', lastId);
    let res;
    try {
      res = await fetch(path, {headers, signal: controller.signal, cache: 'no-store'});
    } catch {
      return 'retry'; // the daemon is down or restarting
    }
    if (res.status === 401) {
      await unauthorized(sent);
      delay = BACKOFF_FIRST_MS;
      return 'now';
    }
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      if (res.status >= 500 || res.status === 429) return 'retry'; // over the stream limit, or down
      const e = (body && body.error) || {};
      onError(new ApiError(res.status, e.code || 'http_error', e.message || res.statusText,
        e.field));
      onStatus('error');
      return 'stop';
    }
    if (res.status === 204) { // the job ended and every event was had: nothing more, ever
      onStatus('ended');
      return 'stop';
    }
    onStatus('live');
    const parser = new SseParser(received);
    const decoder = new TextDecoder();
    try {
      const reader = res.body.getReader();
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        parser.push(decoder.decode(value, {stream: true}));
      }
    } catch {
      return 'retry'; // the connection broke
    }
    if (!closed && finished()) {
      onStatus('ended');
      return 'stop';
    }
    return 'retry';
  };

  (async () => {
    onStatus('connecting');
    while (!closed) {
      const next = await connect();
      if (closed || next === 'stop') return;
      if (next === 'retry') await pause();
    }
  })();

  return {
    close() {
      closed = true;
      if (controller) controller.abort();
      if (wake) wake();
    },
  };
}

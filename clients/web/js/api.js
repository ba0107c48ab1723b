// api.js — the REST API (/v1) with the bearer token, asked for on a 401.
//
// The token lives in sessionStorage: this tab only, gone when it closes.
// Requests that meet a 401 at once share one prompt, then retry.

const TOKEN_KEY = 'traind.token';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || '';
  }
}

let prompting = null; // the open prompt's promise, shared by every waiting request

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Headers for a request: Authorization when a token is known, plus extra. */
export function authHeaders(extra = {}) {
  const headers = new Headers(extra);
  const t = token();
  if (t) headers.set('Authorization', `Bearer ${t}`);
  return headers;
}

/**
 * Ask for the token in the page's dialog; resolves once one is entered.
 * @param rejected the token sent was refused (so say so)
 */
export function askToken(rejected) {
  if (prompting) return prompting;
  const dialog = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const message = document.getElementById('token-message');
  message.textContent = rejected
    ? 'The token was not accepted. Enter a valid token for this traind.'
    : 'This traind requires a bearer token. It is kept in this browser tab only.';
  input.value = '';
  prompting = new Promise((resolve) => {
    const submitted = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      form.removeEventListener('submit', submitted);
      dialog.removeEventListener('cancel', kept);
      dialog.close();
      prompting = null;
      resolve();
    };
    const kept = (event) => event.preventDefault(); // Escape: the page cannot work without it
    form.addEventListener('submit', submitted);
    dialog.addEventListener('cancel', kept);
  });
  dialog.showModal();
  input.focus();
  return prompting;
}

/**
 * Handle a 401: forget the refused token and wait for a new one.
 * @param sent the token the refused request carried (null: none)
 */
export async function unauthorized(sent) {
  if (token() !== sent) return; // a newer token came in meanwhile: retry with it
  sessionStorage.removeItem(TOKEN_KEY);
  await askToken(sent !== null);
}

/**
 * One API call.
 * @param options json (a body to send as JSON), or body + type (e.g. a CSV File)
 * @return the parsed JSON answer, or null for 204
 * @throws ApiError with the server's code, message and field
 */
export async function call(method, path, {json, body, type} = {}) {
  for (;;) {
    const sent = token();
    const headers = authHeaders({Accept: 'application/json'});
    const init = {method, headers};
    if (json !== undefined) {
      headers.set('Content-Type', 'application/json');
      init.body = JSON.stringify(json);
    } else if (body !== undefined) {
      headers.set('Content-Type', type);
      init.body = body;
    } else if (method === 'POST') {
      // A POST without a body (cancel) is typed JSON too: the daemon takes no
      // untyped writes, which any page's form could send.
      headers.set('Content-Type', 'application/json');
    }
    const res = await fetch(path, init);
    if (res.status === 401) {
      await unauthorized(sent);
      continue;
    }
    if (res.status === 204) return null;
    const data = await res.json().catch(() => null);
    if (res.ok) return data;
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || 'http_error', e.message || res.statusText, e.field);
  }
}

/**
 * Save a file the API answers (a model file, an ONNX model) as name: fetched
 * with the token, which a plain link could not send, then handed to the
 * browser's download.
 * @throws ApiError with the server's code, message and field
 */
export async function download(path, name) {
  for (;;) {
    const sent = token();
    const res = await fetch(path, {headers: authHeaders()});
    if (res.status === 401) {
      await unauthorized(sent);
      continue;
    }
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      const e = (data && data.error) || {};
      throw new ApiError(res.status, e.code || 'http_error', e.message || res.statusText, e.field);
    }
    const url = URL.createObjectURL(await res.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    return;
  }
}

export const get = (path) => call('GET', path);
export const post = (path, json) => call('POST', path, {json});
export const del = (path) => call('DELETE', path);

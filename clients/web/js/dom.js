// dom.js — building elements without HTML strings, so no server text is
// ever parsed as markup (and the Content-Security-Policy needs no inline code).

/**
 * h('a', {href: '#/jobs', class: 'link', onclick: fn}, 'Jobs', child, ...)
 * Props: class, text, dataset (object), style (object, set through CSSOM),
 * on* (listeners), everything else an attribute (false/null/undefined skip it).
 * Children: nodes, strings, numbers, arrays of them; null/false are skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') Object.assign(el.style, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked' || key === 'selected') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace everything inside el with the given children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A short-lived message in the corner; kind is 'ok' or 'error'. */
export function toast(message, kind = 'ok') {
  const box = document.getElementById('toasts');
  const el = h('div', {class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status'},
    message);
  box.append(el);
  setTimeout(() => el.classList.add('leaving'), 4000);
  setTimeout(() => el.remove(), 4400);
}

/** A page header: title, an optional subtitle and actions on the right. */
export function pageHeader(title, subtitle, ...actions) {
  return h('div', {class: 'page-header'},
    h('div', {},
      h('h1', {}, title),
      subtitle ? h('p', {class: 'muted'}, subtitle) : null),
    h('div', {class: 'page-actions'}, actions));
}

/** A titled card. */
export function card(title, ...children) {
  return h('section', {class: 'card'},
    title ? h('h2', {class: 'card-title'}, title) : null,
    children);
}

/** A badge for a job state or another label. */
export function badge(text, kind = text) {
  return h('span', {class: `badge badge-${kind}`}, text);
}

/** A progress bar for done out of total (the width is set through CSSOM). */
export function progress(done, total, state) {
  const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
  return h('div', {class: `progress progress-${state || 'none'}`, role: 'progressbar',
    'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': done},
  h('div', {class: 'progress-fill', style: {width: `${pct}%`}}));
}

/** An empty-state panel with a message and optional links. */
export function empty(message, ...actions) {
  return h('div', {class: 'empty'}, h('p', {}, message),
    actions.length > 0 ? h('div', {class: 'empty-actions'}, actions) : null);
}

/** Shows an API error under a form: its message, and which field when named. */
export function formError(el, err) {
  if (!err) {
    replace(el);
    el.hidden = true;
    return;
  }
  el.hidden = false;
  replace(el, err.field ? h('strong', {}, `${err.field}: `) : null, err.message);
}

const LIVE_TEXT = {idle: 'idle', connecting: 'connecting', live: 'live',
  reconnecting: 'reconnecting', ended: 'finished', error: 'offline'};

/** The top bar's indicator of the page's event stream. */
export function live(status) {
  const el = document.getElementById('live');
  el.dataset.state = status;
  el.querySelector('.live-text').textContent = LIVE_TEXT[status] || status;
}

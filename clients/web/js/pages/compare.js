// pages/compare.js — several jobs side by side (#/compare?jobs=1,2,3): their
// loss and validation loss overlaid, one chart per metric (smoothed by an
// exponential moving average as TensorBoard's slider does, on a log scale
// when asked), and their
// configurations in one table, a row per setting, the rows where they
// differ highlighted. Read once: the jobs' pages follow them live.

import {get} from '../api.js';
import {Chart} from '../charts.js';
import {card, empty, h, pageHeader, replace, toast} from '../dom.js';

const MAX_JOBS = 10;

/** {"optimizer.lr": 0.01, ...}: a config's leaves by dotted path (arrays are leaves). */
export function flatten(obj, prefix = '', out = {}) {
  for (const [key, value] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      flatten(value, path, out);
    } else {
      out[path] = value;
    }
  }
  return out;
}

/**
 * values smoothed by an exponential moving average of weight w (0: none),
 * debiased as TensorBoard's is, so the first points are not pulled to 0;
 * nulls (no value that epoch) stay null and do not move the average.
 */
export function smooth(values, w) {
  let sum = 0;
  let norm = 0;
  return values.map((v) => {
    if (v === null || v === undefined) return null;
    sum = w * sum + (1 - w) * v; // the running average of the values so far
    norm = w * norm + (1 - w); // the weight that average has had: 1 - w^k
    return sum / norm;
  });
}

/** The job ids of ?jobs=1,2,3: positive integers, each once, in the order given. */
export function parseJobs(text) {
  const ids = [];
  for (const part of (text || '').split(',')) {
    const n = Number(part);
    if (/^\d+$/.test(part.trim()) && n > 0 && !ids.includes(n)) ids.push(n);
  }
  return ids.slice(0, MAX_JOBS);
}

export function mount(main, params, query) {
  const ids = parseJobs(query.get('jobs'));
  const charts = [];
  const chartCard = (heading) => {
    const area = h('div', {class: 'chart'});
    charts.push(new Chart(area, {log: 'auto'}));
    return card(heading, area);
  };
  const lossCard = chartCard('Loss');
  const valCard = chartCard('Validation loss');
  const configs = h('div', {class: 'table-wrap'});
  let loaded = null; // {jobs, metrics}
  const weight = h('input', {type: 'range', id: 'smoothing', min: 0, max: 0.99, step: 0.01,
    value: 0, oninput: () => redraw()});
  const weightText = h('span', {class: 'mono'}, '0');
  const log = h('input', {type: 'checkbox', id: 'log-scale', onchange: () => redraw()});
  const controls = h('div', {class: 'card-toolbar'},
    h('label', {}, 'Smoothing ', weight, ' ', weightText),
    h('label', {}, log, ' Log scale'));
  const redraw = () => {
    weightText.textContent = weight.value;
    for (const c of charts) c.setLog(log.checked ? true : 'auto');
    if (loaded) draw(loaded.jobs, loaded.metrics);
  };
  replace(main,
    h('nav', {class: 'crumbs'}, h('a', {href: '#/jobs'}, 'Jobs'), h('span', {}, 'Compare')),
    pageHeader('Compare runs', ids.length > 0 ? `Jobs ${ids.map((i) => `#${i}`).join(', ')}`
      : 'Pick jobs on the jobs page or a search page.'));
  if (ids.length === 0) {
    main.append(empty('No jobs to compare.', h('a', {class: 'button', href: '#/jobs'}, 'Jobs')));
    return () => {};
  }
  main.append(controls, h('div', {class: 'grid-2', id: 'charts'}, lossCard, valCard),
    card('Configuration', configs));

  function draw(jobs, metrics) {
    const last = Math.max(0, ...metrics.map((m) => (m.length ? m[m.length - 1].epoch : 0)));
    const x = Array.from({length: last}, (_, i) => i + 1);
    const series = (key) => jobs.map((j, i) => {
      const values = x.map(() => null);
      for (const m of metrics[i]) values[m.epoch - 1] = m[key];
      return {label: `#${j.id}`, values: smooth(values, Number(weight.value))};
    });
    charts[0].set(x, series('loss'));
    charts[1].set(x, series('val_loss'));
  }

  function table(jobs) {
    const flat = jobs.map((j) => flatten(j.config));
    const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))];
    const show = (v) => (v === undefined ? '—' : JSON.stringify(v));
    replace(configs, h('table', {class: 'table compact', id: 'compare-config'},
      h('thead', {}, h('tr', {}, h('th', {}, 'Setting'),
        jobs.map((j) => h('th', {}, h('a', {href: `#/jobs/${j.id}`}, `#${j.id}`))))),
      h('tbody', {}, keys.map((k) => {
        const shown = flat.map((f) => show(f[k]));
        const differs = new Set(shown).size > 1;
        return h('tr', {class: differs ? 'highlight' : null,
          dataset: {key: k, differs: differs ? 'true' : 'false'}},
        h('td', {class: 'mono'}, k),
        shown.map((v, i) => h('td', {class: 'mono', dataset: {job: jobs[i].id}}, v)));
      }))));
  }

  (async () => {
    try {
      const jobs = await Promise.all(ids.map((i) => get(`/v1/jobs/${i}`)));
      const metrics = await Promise.all(ids.map((i) => get(`/v1/jobs/${i}/metrics`)
        .then((r) => r.metrics)));
      loaded = {jobs, metrics};
      draw(jobs, metrics);
      table(jobs);
    } catch (err) {
      toast(`Cannot read the jobs: ${err.message}`, 'error');
    }
  })();
  return () => {
    for (const c of charts) c.destroy();
  };
}

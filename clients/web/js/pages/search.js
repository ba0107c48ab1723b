// pages/search.js — one search: its trials as a leaderboard (the drawn
// values, state, rung, epochs, metric; the best trial highlighted, sortable
// by metric) and each trial's validation metric per epoch overlaid in one
// chart (points at the rungs, where ASHA ranks them), live; and the metric against each parameter, a scatter each.
// Trials can be picked for the compare page.
//
// The global stream (/v1/events) carries the search's `search` events and
// its trials' `epoch` events: an epoch of a trial's job adds its point; a
// search event reads the search again (debounced), and the metrics a trial
// has beyond what the page holds.

import {ApiError, get, post} from '../api.js';
import {Chart} from '../charts.js';
import {badge, card, h, live, pageHeader, replace, toast} from '../dom.js';
import {follow} from '../events.js';
import {num} from '../format.js';
import {scatter} from '../scatter.js';

const RELOAD_MS = 200;

/** The epochs a search's trials stop at to be ranked: ASHA's rungs (as asha.c computes them), else job.epochs. */
export function rungEpochs(config) {
  const max = config.job.epochs;
  if (config.method !== 'asha') return [max];
  const out = [];
  for (let e = config.asha.min_epochs; e < max; e *= config.asha.reduction_factor) out.push(e);
  out.push(max);
  return out;
}

/** A trial's metric compared for the leaderboard: nulls (none yet) last. */
export function byMetric(mode, dir) {
  const sign = (mode === 'max' ? -1 : 1) * (dir === 'desc' ? -1 : 1);
  return (a, b) => {
    if (a.metric === null && b.metric === null) return a.trial - b.trial;
    if (a.metric === null) return 1;
    if (b.metric === null) return -1;
    return sign * (a.metric - b.metric) || a.trial - b.trial;
  };
}

export function mount(main, [idText]) {
  const id = Number(idText);
  let search = null;
  let sort = {key: 'trial', dir: 'asc'}; // 'metric' asc: best first
  const picked = new Set(); // job ids
  const rows = new Map(); // job → [{epoch, value}]
  let frame = 0;
  let timer = 0;

  const title = h('div', {class: 'title-row'});
  const stats = h('div', {class: 'stats'});
  const area = h('div', {class: 'chart', id: 'trials-chart'});
  const placeholder = h('p', {class: 'muted chart-empty'}, 'The curves appear with the first epochs.');
  const curveNote = h('p', {class: 'muted', id: 'curve-note'});
  const chart = new Chart(area, {log: 'auto'});
  const scatters = h('div', {class: 'scatters', id: 'scatters'});
  const thead = h('thead');
  const tbody = h('tbody');
  const compare = h('a', {class: 'button', id: 'compare-link', href: '#/compare'}, 'Compare selected');
  replace(main,
    h('nav', {class: 'crumbs'}, h('a', {href: '#/searches'}, 'Searches'), h('span', {}, `#${id}`)),
    title, stats,
    h('div', {id: 'charts'}, card('Validation metric per trial', curveNote, placeholder, area)),
    card('Metric by parameter', scatters),
    card('Trials', h('div', {class: 'card-toolbar'}, h('span', {class: 'muted'},
      'Pick trials to compare their curves and configurations.'), compare),
    h('div', {class: 'table-wrap'}, h('table', {class: 'table compact', id: 'trials-table'},
      thead, tbody))));

  const metricName = () => (search && search.config.metric) || 'val_loss';
  // the curves plot the metric where each epoch reports it; an evaluation's
  // (evaluation.NAME) is measured at the rungs only, so they plot val_loss
  const metricKey = () => (metricName().startsWith('evaluation.') ? 'val_loss' : metricName());

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  function updateCompare() {
    const jobs = [...picked].sort((a, b) => a - b);
    compare.setAttribute('href', `#/compare?jobs=${jobs.join(',')}`);
    compare.classList.toggle('disabled', jobs.length < 2);
  }

  function header() {
    const paths = Object.keys(search.config.space);
    const arrow = (key) => (sort.key === key ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : '');
    const sorter = (key, label) => h('button', {type: 'button', class: 'sort',
      dataset: {sort: key}, onclick: () => {
        sort = sort.key === key ? {key, dir: sort.dir === 'asc' ? 'desc' : 'asc'} : {key, dir: 'asc'};
        schedule();
      }}, label + arrow(key));
    replace(thead, h('tr', {}, h('th', {}, ''), h('th', {}, sorter('trial', 'Trial')),
      paths.map((p) => h('th', {class: 'mono'}, p)), h('th', {}, 'State'),
      h('th', {class: 'num'}, 'Rung'), h('th', {class: 'num'}, 'Epochs'),
      h('th', {class: 'num'}, sorter('metric', search.config.metric)), h('th', {}, 'Job')));
  }

  function render() {
    frame = 0;
    if (!search) return;
    const s = search;
    replace(title, pageHeader(`Search #${s.id}`,
      `${s.config.method} over ${Object.keys(s.config.space).length} parameters, ` +
      `${s.config.metric} (${s.config.mode})`, badge(s.state),
      s.state === 'running' ? h('button', {type: 'button', class: 'button danger',
        'data-action': 'cancel', onclick: cancel}, 'Cancel') : null));
    curveNote.textContent = metricKey() === s.config.metric
      ? `${s.config.metric} per epoch`
      : `${metricKey()} per epoch; ${s.config.metric} is measured on the validation dataset at the rungs`;
    const done = s.trials.filter((t) => t.metric !== null).length;
    replace(stats,
      stat('Trials', `${s.trials.length} / ${s.config.trials}`),
      stat('With a metric', done),
      stat(`Best ${s.config.metric}`, s.best ? num(s.best.metric) : '—'),
      stat('Best trial', s.best ? s.best.trial : '—'));
    header();
    const paths = Object.keys(s.config.space);
    const order = [...s.trials].sort(sort.key === 'metric' ? byMetric(s.config.mode, sort.dir)
      : (a, b) => (sort.dir === 'asc' ? a.trial - b.trial : b.trial - a.trial));
    replace(tbody, order.map((t) => {
      const best = s.best && s.best.trial === t.trial;
      const box = h('input', {type: 'checkbox', 'aria-label': `Pick trial ${t.trial}`,
        checked: t.job !== null && picked.has(t.job), disabled: t.job === null,
        onchange: () => {
          if (box.checked) picked.add(t.job);
          else picked.delete(t.job);
          updateCompare();
        }});
      return h('tr', {class: best ? 'highlight best' : null,
        dataset: {trial: t.trial, best: best ? 'true' : 'false'}},
      h('td', {}, box), h('td', {class: 'mono strong'}, String(t.trial)),
      paths.map((p) => h('td', {class: 'mono'}, typeof t.params[p] === 'number'
        ? num(t.params[p]) : JSON.stringify(t.params[p]))),
      h('td', {}, badge(t.state)), h('td', {class: 'num'}, t.rung),
      h('td', {class: 'num'}, t.epochs),
      h('td', {class: 'num', dataset: {metric: t.metric === null ? '' : String(t.metric)}},
        num(t.metric)),
      h('td', {}, t.job !== null ? h('a', {href: `#/jobs/${t.job}`}, `#${t.job}`) : '—'));
    }));
    updateCompare();
    draw();
    // a scatter per parameter: each trial's metric against the value it drew
    const measured = s.trials.filter((t) => t.metric !== null);
    replace(scatters, paths.map((p) => scatter({label: p, best: s.best ? s.best.trial : null,
      logX: 'loguniform' in s.config.space[p],
      points: measured.map((t) => ({trial: t.trial, x: t.params[p], y: t.metric}))})));
  }

  // One series per trial that has a job: its metric at each epoch.
  function draw() {
    const trials = search.trials.filter((t) => t.job !== null);
    let last = 0;
    for (const t of trials) for (const r of rows.get(t.job) || []) last = Math.max(last, r.epoch);
    placeholder.hidden = last > 0;
    chart.setMarks(rungEpochs(search.config)); // a trial's points where it was ranked
    const x = Array.from({length: last}, (_, i) => i + 1);
    chart.set(x, trials.map((t) => {
      const values = x.map(() => null);
      for (const r of rows.get(t.job) || []) values[r.epoch - 1] = r.value;
      return {label: `trial ${t.trial}`, values};
    }));
  }

  function addRow(job, m) {
    const list = rows.get(job) || [];
    if (list.length > 0 && list[list.length - 1].epoch >= m.epoch) return;
    list.push({epoch: m.epoch, value: m[metricKey()]});
    rows.set(job, list);
  }

  // The metrics of each trial's job beyond what the page holds.
  async function catchUp() {
    await Promise.all(search.trials.filter((t) => t.job !== null).map(async (t) => {
      const have = rows.get(t.job) || [];
      const after = have.length > 0 ? have[have.length - 1].epoch : 0;
      if (t.epochs <= after && t.state !== 'running') return;
      const {metrics} = await get(`/v1/jobs/${t.job}/metrics?after=${after}`);
      for (const m of metrics) addRow(t.job, m);
    }));
  }

  async function load() {
    try {
      search = await get(`/v1/searches/${id}`);
      await catchUp();
      schedule();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        replace(main, h('div', {class: 'empty'}, h('p', {}, `There is no search #${id}.`),
          h('a', {class: 'button', href: '#/searches'}, 'Searches')));
      } else {
        toast(`Cannot read the search: ${err.message}`, 'error');
      }
    }
  }

  const later = () => {
    if (!timer) timer = setTimeout(() => {
      timer = 0;
      load();
    }, RELOAD_MS);
  };

  async function cancel() {
    try {
      search = await post(`/v1/searches/${id}/cancel`, {});
      toast(`Search #${id}: cancelled`);
      schedule();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  function stat(label, value) {
    return h('div', {class: 'stat'}, h('span', {class: 'stat-label'}, label),
      h('span', {class: 'stat-value'}, value));
  }

  const stream = follow('/v1/events', {onStatus: live, onEvent: (type, data) => {
    if (type === 'search' && data.search === id) {
      later();
    } else if (type === 'epoch' && search && search.trials.some((t) => t.job === data.job)) {
      addRow(data.job, data);
      schedule();
    }
  }});
  load();
  return () => {
    stream.close();
    clearTimeout(timer);
    if (frame) cancelAnimationFrame(frame);
    chart.destroy();
  };
}

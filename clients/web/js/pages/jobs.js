// pages/jobs.js — every job, live: state, progress, latest metrics, cancel;
// jobs picked with their boxes open the compare page.
//
// The global stream (/v1/events) starts with the state of every unfinished
// job, then sends each change. It is opened before the list is read, so no
// change falls between the two; its events are applied in order, and the
// list only where it is not behind what the stream already said.

import {ApiError, get, post} from '../api.js';
import {badge, card, empty, h, live, pageHeader, progress, replace, toast} from '../dom.js';
import {follow} from '../events.js';
import {ago, duration, elapsed, num, pct, when} from '../format.js';
import {behind, isActive, loadNames, nameOf} from '../resources.js';

const FILTERS = [
  {id: 'all', label: 'All', keep: () => true},
  {id: 'active', label: 'Active', keep: isActive},
  {id: 'finished', label: 'Finished', keep: (j) => !isActive(j)},
];

export function mount(main) {
  const jobs = new Map(); // id → job
  const rows = new Map(); // id → {tr, cells}
  let names = {models: new Map(), datasets: new Map()};
  let filter = 'all';
  let loaded = false; // names and the list are in
  let dirty = new Set();
  let frame = 0;
  let stream = null;

  const counts = h('div', {class: 'stats'});
  const tbody = h('tbody');
  const emptyCell = h('td', {colspan: 11});
  const picked = new Set(); // job ids to compare
  const compare = h('a', {class: 'button small disabled', id: 'compare-link', href: '#/compare'},
    'Compare selected');
  const emptyRow = h('tr', {class: 'empty-row'}, emptyCell);
  const tabs = h('div', {class: 'tabs', role: 'tablist'}, FILTERS.map((f) =>
    h('button', {type: 'button', class: f.id === filter ? 'tab active' : 'tab', role: 'tab',
      dataset: {filter: f.id}, onclick: () => setFilter(f.id)}, f.label)));
  const table = h('table', {class: 'table', id: 'jobs-table'},
    h('thead', {}, h('tr', {}, h('th', {}, ''),
      h('th', {}, 'Job'), h('th', {}, 'Model'), h('th', {}, 'Dataset'), h('th', {}, 'State'),
      h('th', {class: 'col-progress'}, 'Progress'), h('th', {class: 'num'}, 'Loss'),
      h('th', {class: 'num'}, 'Val loss'), h('th', {class: 'num'}, 'Accuracy'),
      h('th', {}, 'Started'), h('th', {}, ''))),
    tbody);

  replace(main,
    pageHeader('Jobs', 'Training runs, updated live as they progress.'),
    counts,
    card(null, h('div', {class: 'card-toolbar'}, tabs, compare),
      h('div', {class: 'table-wrap'}, table)));

  function pick(id, on) {
    if (on) picked.add(id);
    else picked.delete(id);
    const ids = [...picked].sort((a, b) => a - b);
    compare.setAttribute('href', `#/compare?jobs=${ids.join(',')}`);
    compare.classList.toggle('disabled', ids.length < 2);
  }

  function setFilter(id) {
    filter = id;
    for (const b of tabs.children) b.classList.toggle('active', b.dataset.filter === id);
    for (const id2 of jobs.keys()) dirty.add(id2);
    schedule();
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  function row(job) {
    const cancel = h('button', {type: 'button', class: 'button small danger', 'data-action': 'cancel',
      onclick: () => cancelJob(job.id, cancel)}, 'Cancel');
    const cells = {
      model: h('td'), dataset: h('td'), state: h('td'), progress: h('td', {class: 'col-progress'}),
      loss: h('td', {class: 'num'}), val: h('td', {class: 'num'}), acc: h('td', {class: 'num'}),
      started: h('td', {class: 'muted'}), actions: h('td', {class: 'actions-cell'}), cancel,
    };
    const box = h('input', {type: 'checkbox', 'aria-label': `Pick job ${job.id}`,
      onchange: () => pick(job.id, box.checked)});
    const tr = h('tr', {dataset: {job: job.id}}, h('td', {}, box),
      h('td', {}, h('a', {class: 'mono strong', href: `#/jobs/${job.id}`}, `#${job.id}`)),
      cells.model, cells.dataset, cells.state, cells.progress, cells.loss, cells.val, cells.acc,
      cells.started, cells.actions);
    return {tr, cells, shown: {}};
  }

  // Update a row's cells; a cell is rebuilt only when what it shows changed,
  // so badges keep their animation and buttons stay under the pointer.
  function fill(job, r) {
    const {tr, cells} = r;
    const set = (key, value, build) => {
      if (r.shown[key] === value) return;
      r.shown[key] = value;
      build();
    };
    tr.dataset.state = job.state;
    const model = nameOf(names.models, job.model);
    set('model', model, () => replace(cells.model, job.model
      ? h('a', {href: `#/models/${job.model}`}, model) : '—'));
    const dataset = nameOf(names.datasets, job.dataset);
    set('dataset', dataset, () => replace(cells.dataset, dataset));
    const cancelling = job.cancel_requested && isActive(job);
    set('state', `${job.state} ${cancelling}`, () => replace(cells.state, badge(job.state),
      cancelling ? h('span', {class: 'muted small'}, ' cancelling…') : null));
    set('progress', `${job.epoch} ${job.epochs} ${job.state}`, () => replace(cells.progress,
      h('div', {class: 'progress-cell'}, progress(job.epoch, job.epochs, job.state),
        h('span', {class: 'muted small mono'}, `${job.epoch} / ${job.epochs}`))));
    cells.loss.textContent = num(job.loss);
    cells.val.textContent = num(job.val_loss);
    cells.acc.textContent = pct(job.accuracy);
    const took = duration(elapsed(job.started_at, job.finished_at));
    set('started', `${job.started_at} ${took}`, () => replace(cells.started, job.started_at
      ? h('span', {title: when(job.started_at)}, ago(job.started_at),
        h('span', {class: 'small'}, ` · ${took}`))
      : 'not yet'));
    const cancellable = isActive(job) && !job.cancel_requested;
    set('cancel', cancellable, () => replace(cells.actions, cancellable ? cells.cancel : null));
    tr.hidden = !FILTERS.find((f) => f.id === filter).keep(job);
  }

  function render() {
    frame = 0;
    const ids = [...dirty];
    dirty = new Set();
    for (const id of ids) {
      const job = jobs.get(id);
      let r = rows.get(id);
      if (!r) {
        r = row(job);
        rows.set(id, r);
        // Newest first: before the first row with a smaller id.
        const next = [...rows.entries()].filter(([k]) => k < id).sort((a, b) => b[0] - a[0])[0];
        tbody.insertBefore(r.tr, next ? next[1].tr : null);
      }
      fill(job, r);
    }
    const all = [...jobs.values()];
    const visible = all.filter(FILTERS.find((f) => f.id === filter).keep);
    if (visible.length > 0) {
      emptyRow.remove();
    } else {
      replace(emptyCell, all.length > 0 ? empty('No jobs match this filter.')
        : empty('No jobs yet. Upload a dataset, create a model, then start a job.',
          h('a', {class: 'button', href: '#/datasets'}, 'Datasets'),
          h('a', {class: 'button', href: '#/models'}, 'Models'),
          h('a', {class: 'button primary', href: '#/jobs/new'}, 'New job')));
      tbody.append(emptyRow);
    }
    const by = (state) => all.filter((j) => j.state === state).length;
    replace(counts,
      stat('Running', by('running'), 'running'), stat('Queued', by('queued'), 'queued'),
      stat('Succeeded', by('succeeded'), 'succeeded'),
      stat('Failed', by('failed'), 'failed'), stat('Cancelled', by('cancelled'), 'cancelled'));
  }

  function stat(label, value, kind) {
    return h('div', {class: `stat stat-${kind}`}, h('span', {class: 'stat-label'}, label),
      h('span', {class: 'stat-value'}, value));
  }

  // A job as the stream tells it, or as a snapshot (the list, an answer)
  // does: those are applied only when not behind what the stream said.
  function put(job, snapshot) {
    const known = jobs.get(job.id);
    if (snapshot && known && behind(job, known)) return;
    if (loaded && ((job.model && !names.models.has(job.model)) ||
        (job.dataset && !names.datasets.has(job.dataset)))) refreshNames();
    jobs.set(job.id, job);
    dirty.add(job.id);
    schedule();
  }

  let naming = null;
  function refreshNames() {
    if (naming) return;
    naming = loadNames().then((n) => {
      names = n;
      for (const id of jobs.keys()) dirty.add(id);
      schedule();
    }).catch(() => {}).finally(() => {
      naming = null;
    });
  }

  function onEvent(type, data) {
    if (type === 'state') {
      put(data, false);
    } else if (type === 'epoch') {
      const job = jobs.get(data.job);
      if (!job || data.epoch < job.epoch) return;
      jobs.set(job.id, {...job, epoch: data.epoch, loss: data.loss, val_loss: data.val_loss,
        accuracy: data.accuracy, val_accuracy: data.val_accuracy});
      dirty.add(job.id);
      schedule();
    }
  }

  async function cancelJob(id, button) {
    button.disabled = true;
    try {
      put(await post(`/v1/jobs/${id}/cancel`), true);
      toast(`Job #${id}: cancel requested`);
    } catch (err) {
      button.disabled = false;
      toast(err instanceof ApiError ? err.message : String(err), 'error');
    }
  }

  stream = follow('/v1/events', {onEvent, onStatus: live});
  (async () => {
    try {
      const [n, list] = await Promise.all([loadNames(), get('/v1/jobs')]);
      names = n;
      for (const job of list.jobs) put(job, true);
      for (const id of jobs.keys()) dirty.add(id);
      loaded = true;
      schedule();
    } catch (err) {
      toast(`Cannot read the jobs: ${err.message}`, 'error');
    }
  })();

  const ticker = setInterval(() => {
    for (const [id, job] of jobs) if (job.state === 'running') dirty.add(id);
    schedule();
  }, 1000);

  return () => {
    stream.close();
    clearInterval(ticker);
    if (frame) cancelAnimationFrame(frame);
  };
}

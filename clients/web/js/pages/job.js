// pages/job.js — one job: live curves (loss, accuracy, learning rate,
// per-layer gradient norms), its state, configuration and checkpoints.
//
// The job's stream (/v1/jobs/{id}/events) replays every event of the job
// from its start, so the curves are drawn from it alone, then grow live; it
// ends after the job's final state.

import {ApiError, get, post} from '../api.js';
import {Chart} from '../charts.js';
import {badge, card, empty, h, live, pageHeader, progress, replace, toast} from '../dom.js';
import {follow} from '../events.js';
import {ago, bytes, duration, elapsed, int, num, pct, when} from '../format.js';
import {FINAL_STATES, behind, isActive, loadNames, nameOf} from '../resources.js';

const CHECKPOINT_REFRESH_MS = 1000;

// A layer-list model's rows name their layer; a graph model's their node.
function layerLabel(l) {
  if (l.node !== undefined) return `${l.node} ${l.op}${l.activation ? ` ${l.activation}` : ''}`;
  return `L${l.layer} ${l.type}${l.activation ? ` ${l.activation}` : ''}`;
}

function sameRow(a, b) {
  return a.node !== undefined ? a.node === b.node : a.layer === b.layer;
}

export function mount(main, [idText]) {
  const id = Number(idText);
  let job = null;
  let ended = false; // the stream sent the job's final state
  let headerKey = '';
  let names = {models: new Map(), datasets: new Map()};
  const metrics = new Map(); // epoch → metrics row
  let frame = 0;
  let stream = null;
  let checkpointTimer = 0;
  const charts = [];

  const title = h('div', {class: 'title-row'});
  const stats = h('div', {class: 'stats'});
  const errorBox = h('div', {class: 'alert', hidden: true});
  const chartCard = (heading, hint) => {
    const area = h('div', {class: 'chart'});
    const placeholder = h('p', {class: 'muted chart-empty'}, hint);
    const box = card(heading, placeholder, area);
    return {box, area, placeholder};
  };
  const lossCard = chartCard('Loss', 'The curve appears with the first epoch.');
  const accCard = chartCard('Accuracy', 'Classification jobs report accuracy each epoch.');
  const lrCard = chartCard('Learning rate', 'The learning rate of each epoch.');
  const gradCard = chartCard('Gradient norm by layer',
    'Per-layer gradient norms appear when the daemon reports them.');
  const lossChart = new Chart(lossCard.area, {log: 'auto'});
  const accChart = new Chart(accCard.area, {format: pct});
  const lrChart = new Chart(lrCard.area);
  const gradChart = new Chart(gradCard.area, {log: 'auto'});
  charts.push(lossChart, accChart, lrChart, gradChart);
  const config = h('dl', {class: 'props'});
  const checkpoints = h('tbody');

  replace(main,
    h('nav', {class: 'crumbs'}, h('a', {href: '#/jobs'}, 'Jobs'), h('span', {}, `#${id}`)),
    title, errorBox, stats,
    h('div', {class: 'grid-2', id: 'charts'}, lossCard.box, accCard.box, lrCard.box, gradCard.box),
    h('div', {class: 'grid-2'},
      card('Configuration', config),
      card('Checkpoints', h('div', {class: 'table-wrap'}, h('table', {class: 'table compact'},
        h('thead', {}, h('tr', {}, h('th', {}, 'Epoch'), h('th', {class: 'num'}, 'Size'),
          h('th', {}, 'Written'))),
        checkpoints)))));

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  function render() {
    frame = 0;
    if (!job) return;
    renderHeader();
    renderStats();
    renderCharts();
  }

  // Rebuilt only when what it shows changes, so its button stays put under the pointer.
  function renderHeader() {
    const key = [job.state, job.cancel_requested, job.restarts, job.error,
      nameOf(names.models, job.model), nameOf(names.datasets, job.dataset)].join('\n');
    if (key === headerKey) return;
    headerKey = key;
    const cancel = isActive(job) && !job.cancel_requested
      ? h('button', {type: 'button', class: 'button danger', id: 'cancel-job', onclick: cancelJob},
        'Cancel job')
      : null;
    replace(title, pageHeader(
      h('span', {}, `Job #${job.id} `, badge(job.state)),
      h('span', {},
        'Model ', job.model ? h('a', {href: `#/models/${job.model}`},
          nameOf(names.models, job.model)) : '—',
        ' on dataset ', nameOf(names.datasets, job.dataset),
        job.restarts > 0 ? ` · resumed ${job.restarts}×` : '',
        job.cancel_requested && isActive(job) ? ' · cancelling…' : ''),
      cancel));
    errorBox.hidden = !job.error;
    errorBox.textContent = job.error || '';
  }

  function stat(label, value, extra) {
    return h('div', {class: 'stat'}, h('span', {class: 'stat-label'}, label),
      h('span', {class: 'stat-value'}, value), extra || null);
  }

  function renderStats() {
    replace(stats,
      stat('Epoch', [String(job.epoch), h('span', {class: 'stat-of'}, ` / ${job.epochs}`)],
        progress(job.epoch, job.epochs, job.state)),
      stat('Loss', num(job.loss)),
      stat('Val loss', num(job.val_loss)),
      stat('Accuracy', pct(job.accuracy)),
      stat('Val accuracy', pct(job.val_accuracy)),
      stat('Samples / s', job.samples_per_second ? int(Math.round(job.samples_per_second)) : '—'),
      stat('Time', duration(elapsed(job.started_at, job.finished_at))));
  }

  function renderCharts() {
    const rows = [...metrics.values()].sort((a, b) => a.epoch - b.epoch);
    const x = rows.map((r) => r.epoch);
    const col = (key) => rows.map((r) => r[key]);
    const has = (key) => rows.some((r) => r[key] !== null && r[key] !== undefined);
    const shown = (c, yes) => {
      c.placeholder.hidden = yes;
      c.area.hidden = !yes;
    };
    shown(lossCard, rows.length > 0);
    shown(accCard, has('accuracy'));
    shown(lrCard, rows.length > 0);
    if (rows.length > 0) {
      lossChart.set(x, [{label: 'loss', values: col('loss')},
        ...(has('val_loss') ? [{label: 'val loss', values: col('val_loss'), dash: [6, 4]}] : [])]);
      lrChart.set(x, [{label: 'learning rate', values: col('lr'), color: '#10b981'}]);
    }
    if (has('accuracy')) {
      accChart.set(x, [{label: 'accuracy', values: col('accuracy')},
        ...(has('val_accuracy')
          ? [{label: 'val accuracy', values: col('val_accuracy'), dash: [6, 4]}] : [])]);
    }
    // Layers as the newest row lists them; one series per layer with a gradient
    // norm (dense layers: dropout has none). Epochs recorded before the daemon
    // gathered diagnostics have layers null.
    const layered = rows.filter((r) => Array.isArray(r.layers));
    shown(gradCard, layered.length > 0);
    if (layered.length > 0) {
      const last = layered[layered.length - 1].layers
        .filter((l) => typeof l.grad_norm === 'number');
      gradChart.set(layered.map((r) => r.epoch), last.map((l) => ({
        label: layerLabel(l),
        values: layered.map((r) => {
          const m = r.layers.find((k) => sameRow(k, l));
          return m ? m.grad_norm : null;
        }),
      })));
    }
  }

  function renderConfig() {
    const c = job.config || {};
    const o = c.optimizer || {};
    const s = c.lr_schedule || {};
    const schedule = [s.type, s.step_size !== undefined ? `every ${s.step_size}` : null,
      s.gamma !== undefined ? `γ ${s.gamma}` : null,
      s.min_lr !== undefined ? `min ${s.min_lr}` : null].filter(Boolean).join(', ');
    const stopping = c.early_stopping && c.early_stopping.patience > 0
      ? `patience ${c.early_stopping.patience}, min Δ ${c.early_stopping.min_delta}` : 'off';
    const items = [
      ['Epochs', c.epochs], ['Batch size', c.batch_size],
      ['Optimizer', `${o.type} (lr ${o.lr})`], ['LR schedule', schedule],
      ['Validation split', c.validation_split], ['Shuffle', c.shuffle ? 'yes' : 'no'],
      ['Seed', c.seed], ['Checkpoint every', `${c.checkpoint_every} epoch(s)`],
      ['Gradient clipping', c.clip_norm > 0 ? `norm ${c.clip_norm}` : 'off'],
      ['Early stopping', stopping], ['Fresh weights', c.reset ? 'yes' : 'no'],
      ['Created', when(job.created_at)], ['Started', when(job.started_at) || '—'],
      ['Finished', when(job.finished_at) || '—'],
    ];
    replace(config, items.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v ?? '—'))]));
  }

  async function loadCheckpoints() {
    checkpointTimer = 0;
    try {
      const list = (await get(`/v1/jobs/${id}/checkpoints`)).checkpoints;
      replace(checkpoints, list.length === 0
        ? h('tr', {}, h('td', {colspan: 3, class: 'muted'}, 'None yet.'))
        : list.slice().reverse().map((c) => h('tr', {},
          h('td', {class: 'mono'}, c.epoch), h('td', {class: 'num'}, bytes(c.bytes)),
          h('td', {title: when(c.created_at)}, ago(c.created_at)))));
    } catch (err) {
      toast(`Cannot read the checkpoints: ${err.message}`, 'error');
    }
  }

  // Checkpoints can land every epoch: read the list at most once a second.
  function checkpointsChanged() {
    if (!checkpointTimer) checkpointTimer = setTimeout(loadCheckpoints, CHECKPOINT_REFRESH_MS);
  }

  async function cancelJob(event) {
    event.target.disabled = true;
    try {
      const answer = await post(`/v1/jobs/${id}/cancel`);
      if (!behind(answer, job)) job = answer;
      toast(`Job #${id}: cancel requested`);
      schedule();
    } catch (err) {
      event.target.disabled = false;
      toast(err instanceof ApiError ? err.message : String(err), 'error');
    }
  }

  function onEvent(type, data) {
    if (type === 'state') {
      job = data;
      ended = FINAL_STATES.has(job.state);
      renderConfig();
      if (ended) checkpointsChanged();
    } else if (type === 'epoch') {
      metrics.set(data.epoch, data);
      if (job && data.epoch >= job.epoch) {
        job = {...job, epoch: data.epoch, loss: data.loss, val_loss: data.val_loss,
          accuracy: data.accuracy, val_accuracy: data.val_accuracy};
      }
    } else if (type === 'checkpoint') {
      checkpointsChanged();
    }
    schedule();
  }

  function notFound(err) {
    replace(main, h('nav', {class: 'crumbs'}, h('a', {href: '#/jobs'}, 'Jobs'),
      h('span', {}, `#${id}`)), empty(err.message, h('a', {class: 'button', href: '#/jobs'},
      'All jobs')));
  }

  (async () => {
    try {
      const [n, j] = await Promise.all([loadNames(), get(`/v1/jobs/${id}`)]);
      names = n;
      if (!job || !behind(j, job)) job = j;
      renderConfig();
      schedule();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        if (stream) stream.close();
        notFound(err);
        return;
      }
      toast(`Cannot read job #${id}: ${err.message}`, 'error');
    }
    loadCheckpoints();
  })();
  stream = follow(`/v1/jobs/${id}/events`, {
    onEvent,
    onStatus: live,
    finished: () => ended,
    onError: (err) => toast(err.message, 'error'),
  });
  const ticker = setInterval(() => {
    if (job && job.state === 'running') schedule();
  }, 1000);

  return () => {
    stream.close();
    clearInterval(ticker);
    clearTimeout(checkpointTimer);
    if (frame) cancelAnimationFrame(frame);
    for (const c of charts) c.destroy();
  };
}

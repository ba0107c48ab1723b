// pages/new_job.js — the form that starts a training job (POST /v1/jobs).
//
// Fields left empty are left out, so the daemon's defaults apply (they are
// shown as placeholders); the daemon validates everything and names the
// field at fault, which the form shows.

import {ApiError, get, post} from '../api.js';
import {card, empty, formError, h, pageHeader, replace, toast} from '../dom.js';
import {architecture, inputWidth} from '../resources.js';

const OPTIMIZERS = [
  {type: 'adam', lr: 0.001}, {type: 'adamw', lr: 0.001}, {type: 'sgd', lr: 0.01},
  {type: 'rmsprop', lr: 0.01},
];
const SCHEDULES = {
  constant: [],
  step: ['step_size', 'gamma'],
  exponential: ['gamma'],
  cosine: ['min_lr'],
};

function field(label, input, hint) {
  return h('label', {class: 'field'}, h('span', {}, label), input,
    hint ? h('small', {class: 'muted'}, hint) : null);
}

function numberInput(name, {placeholder, value, step = 'any', min} = {}) {
  return h('input', {type: 'number', name, id: `job-${name}`, placeholder, value, step, min});
}

/** The JSON body from the form's values; empty fields are left out. */
function body(form) {
  const v = (name) => form.elements[name].value.trim();
  const n = (name) => (v(name) === '' ? undefined : Number(v(name)));
  const job = {
    model: n('model'), dataset: n('dataset'), epochs: n('epochs'), batch_size: n('batch_size'),
    validation_split: n('validation_split'), seed: n('seed'),
    checkpoint_every: n('checkpoint_every'), clip_norm: n('clip_norm'),
    shuffle: form.elements.shuffle.checked, reset: form.elements.reset.checked,
    optimizer: {type: v('optimizer'), lr: n('lr')},
  };
  const schedule = v('lr_schedule');
  if (schedule !== 'constant') {
    job.lr_schedule = {type: schedule};
    for (const key of SCHEDULES[schedule]) job.lr_schedule[key] = n(key);
  }
  if (v('patience') !== '') {
    job.early_stopping = {patience: n('patience'), min_delta: n('min_delta')};
  }
  return JSON.parse(JSON.stringify(job)); // drops the undefined members
}

export function mount(main, params, query) {
  replace(main, pageHeader('New job', 'Train a model on a dataset.'),
    h('p', {class: 'muted'}, 'Loading models and datasets…'));

  (async () => {
    let models;
    let datasets;
    try {
      [models, datasets] = await Promise.all([get('/v1/models'), get('/v1/datasets')]);
    } catch (err) {
      toast(`Cannot read models and datasets: ${err.message}`, 'error');
      return;
    }
    models = models.models;
    datasets = datasets.datasets;
    if (models.length === 0 || datasets.length === 0) {
      replace(main, pageHeader('New job', 'Train a model on a dataset.'),
        empty('A job needs a model and a dataset: create them first.',
          h('a', {class: 'button', href: '#/datasets'}, 'Upload a dataset'),
          h('a', {class: 'button', href: '#/models'}, 'Create a model')));
      return;
    }
    render(models, datasets);
  })();

  function render(models, datasets) {
    const wanted = Number(query.get('model'));
    const modelSelect = h('select', {name: 'model', id: 'job-model', required: true},
      models.map((m) => h('option', {value: m.id, selected: m.id === wanted},
        `${m.name} (#${m.id}) — ${architecture(m.spec)}`)));
    const datasetSelect = h('select', {name: 'dataset', id: 'job-dataset', required: true},
      datasets.map((d) => h('option', {value: d.id},
        `${d.name} (#${d.id}) — ${d.rows} × ${d.features}, ${d.task}`)));
    const fit = h('p', {class: 'hint'});
    const lr = numberInput('lr', {placeholder: '0.001'});
    const optimizer = h('select', {name: 'optimizer', id: 'job-optimizer'},
      OPTIMIZERS.map((o) => h('option', {value: o.type}, o.type)));
    const scheduleSelect = h('select', {name: 'lr_schedule', id: 'job-lr_schedule'},
      Object.keys(SCHEDULES).map((s) => h('option', {value: s}, s)));
    const scheduleFields = {
      step_size: field('Step size', numberInput('step_size', {placeholder: '10', step: 1, min: 1}),
        'epochs between decays'),
      gamma: field('Gamma', numberInput('gamma', {placeholder: '0.1'}), 'decay factor'),
      min_lr: field('Minimum LR', numberInput('min_lr', {placeholder: '0'})),
    };
    const error = h('div', {class: 'alert', hidden: true, id: 'job-error'});
    const submit = h('button', {type: 'submit', class: 'button primary', id: 'job-submit'},
      'Start training');

    const form = h('form', {class: 'form', id: 'job-form', novalidate: true},
      h('div', {class: 'form-grid'},
        field('Model', modelSelect), field('Dataset', datasetSelect)),
      fit,
      h('div', {class: 'form-grid cols-4'},
        field('Epochs', numberInput('epochs', {value: 100, step: 1, min: 1})),
        field('Batch size', numberInput('batch_size', {placeholder: '32', step: 1, min: 1})),
        field('Optimizer', optimizer),
        field('Learning rate', lr)),
      h('div', {class: 'form-grid cols-4'},
        field('Validation split', numberInput('validation_split', {value: 0.2, min: 0}),
          'held out to measure generalization'),
        field('LR schedule', scheduleSelect),
        Object.values(scheduleFields)),
      h('details', {class: 'advanced'},
        h('summary', {}, 'Advanced'),
        h('div', {class: 'form-grid cols-4'},
          field('Seed', numberInput('seed', {placeholder: '0', step: 1, min: 0})),
          field('Checkpoint every', numberInput('checkpoint_every',
            {placeholder: '1', step: 1, min: 1}), 'epochs'),
          field('Gradient clipping', numberInput('clip_norm', {placeholder: '0 (off)', min: 0}),
            'max global norm'),
          field('Early stopping', numberInput('patience', {placeholder: 'off', step: 1, min: 0}),
            'patience in epochs'),
          field('Min improvement', numberInput('min_delta', {placeholder: '0', min: 0})),
          h('label', {class: 'check'}, h('input', {type: 'checkbox', name: 'shuffle',
            checked: true}), 'Shuffle each epoch'),
          h('label', {class: 'check'}, h('input', {type: 'checkbox', name: 'reset'}),
            'Start from fresh weights'))),
      error,
      h('div', {class: 'actions'}, h('a', {class: 'button', href: '#/jobs'}, 'Cancel'), submit));

    const byId = (list, value) => list.find((x) => x.id === Number(value));
    const checkFit = () => {
      const m = byId(models, modelSelect.value);
      const d = byId(datasets, datasetSelect.value);
      const ok = inputWidth(m.spec) === d.features;
      fit.className = ok ? 'hint' : 'hint warn';
      fit.textContent = ok
        ? `${d.name}: ${d.rows} rows, ${d.features} features → ${m.name} takes ${inputWidth(m.spec)} inputs.`
        : `${m.name} takes ${inputWidth(m.spec)} inputs but ${d.name} has ${d.features} features.`;
    };
    const optimizerChanged = () => {
      lr.placeholder = String(OPTIMIZERS.find((o) => o.type === optimizer.value).lr);
    };
    const scheduleChanged = () => {
      for (const [key, el] of Object.entries(scheduleFields)) {
        el.hidden = !SCHEDULES[scheduleSelect.value].includes(key);
      }
    };
    modelSelect.addEventListener('change', checkFit);
    datasetSelect.addEventListener('change', checkFit);
    optimizer.addEventListener('change', optimizerChanged);
    scheduleSelect.addEventListener('change', scheduleChanged);
    checkFit();
    scheduleChanged();

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      submit.disabled = true;
      formError(error, null);
      try {
        const job = await post('/v1/jobs', body(form));
        toast(`Job #${job.id} queued`);
        location.hash = `#/jobs/${job.id}`;
      } catch (err) {
        formError(error, err instanceof ApiError ? err : {message: String(err)});
        submit.disabled = false;
      }
    });

    replace(main, pageHeader('New job', 'Train a model on a dataset.'), card(null, form));
  }
}

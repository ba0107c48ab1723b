// pages/models.js — the models: architecture, size, weights version; and a
// form that creates one from a JSON spec (POST /v1/models).

import {ApiError, get, post} from '../api.js';
import {badge, card, empty, formError, h, pageHeader, replace, toast} from '../dom.js';
import {ago, int, when} from '../format.js';
import {architecture} from '../resources.js';

// A starting point, laid out to fit the side column without scrolling.
const EXAMPLE = `{
  "name": "iris-net",
  "inputs": 4,
  "layers": [
    {"type": "dense", "units": 16,
     "activation": "relu"},
    {"type": "dense", "units": 3,
     "activation": "softmax"}
  ],
  "loss": "cross_entropy",
  "seed": 1,
  "normalize": true
}`;

export function mount(main) {
  const tbody = h('tbody');
  const spec = h('textarea', {name: 'spec', id: 'model-spec', rows: 14, spellcheck: 'false',
    wrap: 'off', class: 'mono'});
  spec.value = EXAMPLE;
  const error = h('div', {class: 'alert', hidden: true, id: 'model-error'});
  const submit = h('button', {type: 'submit', class: 'button primary', id: 'model-submit'},
    'Create model');
  const form = h('form', {class: 'form', id: 'model-form'},
    h('label', {class: 'field'}, h('span', {}, 'Specification (JSON)'), spec,
      h('small', {class: 'muted'}, 'Layers: dense (units, activation: linear, relu, leaky_relu, ',
        'sigmoid, tanh, softmax) and dropout (rate). Loss: mse, cross_entropy, ',
        'binary_cross_entropy.')),
    error, h('div', {class: 'actions'}, submit));

  replace(main,
    pageHeader('Models', 'Network definitions and the version of their trained weights.'),
    h('div', {class: 'grid-main-side'},
      card(null, h('div', {class: 'table-wrap'}, h('table', {class: 'table', id: 'models-table'},
        h('thead', {}, h('tr', {}, h('th', {}, 'Model'), h('th', {}, 'Architecture'),
          h('th', {}, 'Loss'), h('th', {class: 'num'}, 'Parameters'), h('th', {}, 'Weights'),
          h('th', {}, 'Created'), h('th', {}))),
        tbody))),
      card('New model', form)));

  async function load() {
    try {
      const {models} = await get('/v1/models');
      replace(tbody, models.length === 0
        ? h('tr', {}, h('td', {colspan: 7}, empty('No models yet: describe one on the right.')))
        : models.slice().reverse().map((m) => h('tr', {dataset: {model: m.id}},
          h('td', {}, h('a', {class: 'strong', href: `#/models/${m.id}`}, m.name),
            h('span', {class: 'muted mono small'}, ` #${m.id}`)),
          h('td', {class: 'mono small'}, architecture(m.spec)),
          h('td', {}, m.spec.loss),
          h('td', {class: 'num'}, int(m.parameters)),
          h('td', {}, m.trained ? badge(`v${m.version}`, 'succeeded') : badge('untrained', 'queued')),
          h('td', {class: 'muted', title: when(m.created_at)}, ago(m.created_at)),
          h('td', {class: 'actions-cell'}, h('a', {class: 'button small',
            href: `#/jobs/new?model=${m.id}`}, 'Train')))));
    } catch (err) {
      toast(`Cannot read the models: ${err.message}`, 'error');
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    formError(error, null);
    let parsed;
    try {
      parsed = JSON.parse(spec.value);
    } catch (err) {
      formError(error, {message: `The specification is not valid JSON: ${err.message}`});
      return;
    }
    submit.disabled = true;
    try {
      const m = await post('/v1/models', parsed);
      toast(`Model ${m.name} created`);
      location.hash = `#/models/${m.id}`;
    } catch (err) {
      formError(error, err instanceof ApiError ? err : {message: String(err)});
    } finally {
      submit.disabled = false;
    }
  });

  load();
}

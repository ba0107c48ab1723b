// pages/datasets.js — the datasets and their shape, and a CSV upload
// (POST /v1/datasets?name=&target= with Content-Type text/csv, streamed);
// #/datasets?dataset=ID shows one dataset, a typed table with its columns.

import {ApiError, call, get} from '../api.js';
import {badge, card, empty, formError, h, pageHeader, replace, toast} from '../dom.js';
import {ago, int, when} from '../format.js';
import {profileTable} from './dataset_profile.js';

const HEADER_BYTES = 65536; // enough of the file to read its header row

/** The header row's column names (RFC 4180 quotes, first line only). */
export function csvHeader(text) {
  const names = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      names.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      break;
    } else {
      cell += c;
    }
  }
  names.push(cell);
  return names.map((n) => n.trim()).filter((n) => n !== '');
}

/** A dataset name from a file name: "iris data.csv" → "iris-data". */
export function nameFromFile(file) {
  return file.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

// The list carries a summary: how many classes, not their names (up to
// 10,000 of 256 bytes each; GET /v1/datasets/{id} has them).
function classesCell(d) {
  if (d.task !== 'classification') return h('span', {class: 'muted'}, '—');
  return h('span', {}, `${int(d.class_count)} class${d.class_count === 1 ? '' : 'es'}`);
}

/** "150 rows × 4 features, 3 classes: a, b, c" */
function shape(d) {
  return `${int(d.rows)} rows × ${d.features} features, ` + (d.task === 'classification'
    ? `${d.classes.length} classes: ${d.classes.join(', ')}`
    : `${d.outputs} output${d.outputs === 1 ? '' : 's'} (regression)`);
}

/** The card of one dataset (GET /v1/datasets/{id}): its shape, a table's columns. */
async function detail(id) {
  try {
    const d = await get(`/v1/datasets/${id}`);
    return card(h('span', {}, d.name, h('span', {class: 'muted mono small'}, ` #${d.id}`)),
      h('p', {class: 'muted', id: 'dataset-detail-shape'}, shape(d),
        d.kind === 'table' && d.rows_without_target > 0
          ? `; ${int(d.rows_without_target)} rows without a target are not trained on` : ''),
      d.kind === 'table' ? profileTable(d)
        : h('p', {class: 'muted small'}, 'A numeric dataset: every column is a number.'));
  } catch (err) {
    return card(null, empty(err.message, h('a', {class: 'button', href: '#/datasets'},
      'All datasets')));
  }
}

export function mount(main, params, query) {
  const tbody = h('tbody');
  const file = h('input', {type: 'file', name: 'file', id: 'dataset-file', accept: '.csv,text/csv',
    required: true});
  const name = h('input', {type: 'text', name: 'name', id: 'dataset-name', required: true,
    placeholder: 'iris'});
  const target = h('select', {name: 'target', id: 'dataset-target', required: true, disabled: true},
    h('option', {value: ''}, 'choose a file first'));
  const error = h('div', {class: 'alert', hidden: true, id: 'dataset-error'});
  const result = h('div', {id: 'dataset-result'});
  const submit = h('button', {type: 'submit', class: 'button primary', id: 'dataset-submit'},
    'Upload');
  const form = h('form', {class: 'form', id: 'dataset-form'},
    h('label', {class: 'field'}, h('span', {}, 'CSV file'), file,
      h('small', {class: 'muted'}, 'A header row, then one example a row; numeric features.')),
    h('label', {class: 'field'}, h('span', {}, 'Name'), name),
    h('label', {class: 'field'}, h('span', {}, 'Target column'), target,
      h('small', {class: 'muted'},
        'Text labels make a classification dataset; numbers make a regression one.')),
    error, h('div', {class: 'actions'}, submit), result);

  const shown = h('div', {id: 'dataset-detail'});
  replace(main,
    pageHeader('Datasets', 'Training data stored by the daemon.'), shown,
    h('div', {class: 'grid-main-side'},
      card(null, h('div', {class: 'table-wrap'}, h('table', {class: 'table', id: 'datasets-table'},
        h('thead', {}, h('tr', {}, h('th', {}, 'Dataset'), h('th', {}, 'Task'),
          h('th', {class: 'num'}, 'Rows'), h('th', {class: 'num'}, 'Features'),
          h('th', {class: 'num'}, 'Outputs'), h('th', {}, 'Classes'), h('th', {}, 'Created'))),
        tbody))),
      card('Upload a CSV', form)));

  async function load(highlight) {
    try {
      const {datasets} = await get('/v1/datasets');
      replace(tbody, datasets.length === 0
        ? h('tr', {}, h('td', {colspan: 7}, empty('No datasets yet: upload a CSV on the right.')))
        : datasets.slice().reverse().map((d) => h('tr', {dataset: {dataset: d.id},
          class: d.id === highlight ? 'highlight' : null},
        h('td', {}, h('a', {class: 'strong', href: `#/datasets?dataset=${d.id}`}, d.name),
          h('span', {class: 'muted mono small'}, ` #${d.id}`)),
        h('td', {}, badge(d.task, d.task)),
        h('td', {class: 'num'}, int(d.rows)), h('td', {class: 'num'}, int(d.features)),
        h('td', {class: 'num'}, int(d.outputs)), h('td', {}, classesCell(d)),
        h('td', {class: 'muted', title: when(d.created_at)}, ago(d.created_at)))));
    } catch (err) {
      toast(`Cannot read the datasets: ${err.message}`, 'error');
    }
  }

  file.addEventListener('change', async () => {
    const f = file.files[0];
    if (!f) return;
    if (!name.value) name.value = nameFromFile(f.name);
    const columns = csvHeader(await f.slice(0, HEADER_BYTES).text());
    replace(target, columns.map((c, i) => h('option', {value: c,
      selected: i === columns.length - 1}, c)));
    target.disabled = columns.length === 0;
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    formError(error, null);
    const f = file.files[0];
    if (!f) {
      formError(error, {field: 'file', message: 'choose a CSV file'});
      return;
    }
    submit.disabled = true;
    try {
      const query = new URLSearchParams({name: name.value.trim(), target: target.value});
      const d = await call('POST', `/v1/datasets?${query}`, {body: f, type: 'text/csv'});
      toast(`Dataset ${d.name} uploaded`);
      replace(result, h('div', {class: 'success', id: 'dataset-shape'},
        h('strong', {}, d.name), ` — ${shape(d)}`),
      d.kind === 'table' ? h('a', {class: 'button small', id: 'dataset-columns',
        href: `#/datasets?dataset=${d.id}`}, 'See its columns') : null);
      form.reset();
      replace(target, h('option', {value: ''}, 'choose a file first'));
      target.disabled = true;
      load(d.id);
    } catch (err) {
      formError(error, err instanceof ApiError ? err : {message: String(err)});
    } finally {
      submit.disabled = false;
    }
  });

  load();
  const id = Number(query.get('dataset'));
  if (id > 0) detail(id).then((el) => replace(shown, el));
}

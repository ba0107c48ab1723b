// pages/model.js — one model: its layers, its weights versions and the jobs
// that trained it, a form to predict with it (POST /v1/models/{id}/predict),
// with the newest weights or a version kept — rows of numbers, or for a
// model of a table a record of its columns (model_records.js) —, its
// evaluations (model_evaluations.js) and its downloads (the model file of a
// version, the ONNX model, the output of its batch predictions).

import {ApiError, download, get, post} from '../api.js';
import {badge, card, empty, formError, h, pageHeader, replace, toast} from '../dom.js';
import {ago, bytes, duration, elapsed, int, num, pct, when} from '../format.js';
import {inputWidth as rowWidth, loadNames, nameOf} from '../resources.js';
import {evaluations} from './model_evaluations.js';
import {graphView} from './model_graph.js';
import {recordFields, recordText} from './model_records.js';

/** Rows of numbers from text: one row a line, values split by commas or blanks. */
export function parseRows(text) {
  const rows = [];
  for (const line of text.split('\n')) {
    const cells = line.split(/[\s,;]+/).filter((c) => c !== '');
    if (cells.length === 0) continue;
    rows.push(cells.map((c) => {
      const v = Number(c);
      if (!Number.isFinite(v)) throw new Error(`"${c}" on line ${rows.length + 1} is not a number`);
      return v;
    }));
  }
  return rows;
}

function layerParams(inputs, l) {
  return l.type === 'dense' ? inputs * l.units + l.units : 0;
}

export function mount(main, [idText]) {
  const id = Number(idText);
  let stopEvaluations = () => {};

  (async () => {
    let m;
    let history;
    let versions;
    let names;
    try {
      [m, history, versions, names] = await Promise.all([get(`/v1/models/${id}`),
        get(`/v1/jobs?model=${id}`), get(`/v1/models/${id}/versions`), loadNames()]);
    } catch (err) {
      replace(main, h('nav', {class: 'crumbs'}, h('a', {href: '#/models'}, 'Models'),
        h('span', {}, `#${id}`)),
      empty(err.message, h('a', {class: 'button', href: '#/models'}, 'All models')));
      return;
    }
    render(m, history.jobs, versions.versions, names);
  })();
  return () => stopEvaluations();

  function render(m, jobs, versions, names) {
    // a model of a table takes its encoding's width
    const inputWidth = rowWidth(m.spec) ?? (m.encoding ? m.encoding.width : null);
    let width = inputWidth;
    // a graph's nodes are not layers: its table waits for the graph view
    const layers = (m.spec.layers ?? []).map((l, i) => {
      const row = h('tr', {},
        h('td', {class: 'mono'}, i), h('td', {}, l.type),
        h('td', {class: 'num'}, l.type === 'dense' ? l.units : '—'),
        h('td', {}, l.type === 'dense' ? l.activation : `rate ${l.rate}`),
        h('td', {class: 'muted'}, l.init || '—'),
        h('td', {class: 'num'}, int(layerParams(width, l))));
      if (l.type === 'dense') width = l.units;
      return row;
    });

    const record = m.encoding ? recordFields(m.encoding) : null;
    const inputs = h('textarea', {id: 'predict-inputs', rows: 5, class: 'mono', spellcheck: 'false',
      placeholder: Array.from({length: inputWidth ?? 0}, (_, i) => (i + 1) / 10).join(', ')});
    const error = h('div', {class: 'alert', hidden: true, id: 'predict-error'});
    const result = h('div', {id: 'predict-result'});
    const submit = h('button', {type: 'submit', class: 'button primary', id: 'predict-submit',
      disabled: !m.trained}, 'Predict');
    const version = h('select', {id: 'predict-version'},
      h('option', {value: ''}, m.trained ? `newest (v${m.version})` : 'newest'),
      versions.slice(1).map((v) => h('option', {value: String(v.version)},
        `v${v.version}` + (v.epoch ? ` (job #${v.job}, epoch ${v.epoch})` : ''))));
    const form = h('form', {class: 'form', id: 'predict-form'},
      record ? h('div', {class: 'field'},
        h('span', {}, 'A record: one field per column, blank for missing'), record.element)
        : inputWidth === null ? h('p', {class: 'hint', id: 'predict-columns-later'},
          'This model takes the columns of the table it is first trained on: ' +
          'a field for each appears here then.')
          : h('label', {class: 'field'},
            h('span', {}, `Inputs: one row a line, ${inputWidth} numbers each`), inputs),
      versions.length > 1 ? h('label', {class: 'field'}, h('span', {}, 'Weights'), version) : null,
      m.trained ? null : h('p', {class: 'hint warn'},
        'This model has no trained weights yet: train it first.'),
      error, h('div', {class: 'actions'}, submit), result);

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      formError(error, null);
      let rows;
      let body;
      if (record) {
        const r = record.read();
        rows = [[recordText(r)]];
        body = {records: [r]};
      } else {
        try {
          rows = parseRows(inputs.value);
        } catch (err) {
          formError(error, {field: 'inputs', message: err.message});
          return;
        }
        if (rows.length === 0) {
          formError(error, {field: 'inputs', message: 'enter at least one row'});
          return;
        }
        body = {inputs: rows};
      }
      submit.disabled = true;
      try {
        const pinned = version.value ? `?version=${version.value}` : '';
        const out = await post(`/v1/models/${id}/predict${pinned}`, body);
        showResult(rows, out);
      } catch (err) {
        formError(error, err instanceof ApiError ? err : {message: String(err)});
      } finally {
        submit.disabled = false;
      }
    });

    function showResult(rows, out) {
      const classes = m.classes || [];
      const columns = out.outputs[0].length;
      const probabilities = classes.length === columns; // one unit per class: softmax
      const head = Array.from({length: columns}, (_, k) =>
        h('th', {class: 'num'}, probabilities ? classes[k] : `output ${k}`));
      const cells = (y) => {
        const best = y.indexOf(Math.max(...y));
        return y.map((v, k) => h('td', {class: probabilities && k === best ? 'num mono strong' : 'num mono'},
          probabilities ? v.toFixed(3) : num(v)));
      };
      replace(result, h('div', {class: 'table-wrap'},
        h('table', {class: 'table compact', id: 'predict-table'},
          h('thead', {}, h('tr', {}, h('th', {}, 'Input'), head,
            out.labels ? h('th', {}, 'Label') : null)),
          h('tbody', {}, out.outputs.map((y, i) => h('tr', {},
            h('td', {class: 'mono small nowrap'}, rows[i].join(', ')), cells(y),
            out.labels ? h('td', {}, badge(out.labels[i], 'label')) : null))))),
      h('p', {class: 'muted small', id: 'predict-version-used'},
        `From weights version ${out.version}.`));
    }

    const shown = evaluations(m, names.datasets);
    stopEvaluations = shown.stop;
    const evaluationsCard = card('Evaluations', shown.element);

    /** A button that saves path as name, saying why in a toast when it cannot. */
    const saver = (label, id, path, name) => {
      const b = h('button', {type: 'button', class: 'button small', id}, label);
      b.addEventListener('click', async () => {
        b.disabled = true;
        try {
          await download(path, name);
        } catch (err) {
          toast(err.message, 'error');
        } finally {
          b.disabled = false;
        }
      });
      return b;
    };
    const downloads = !m.trained ? null : h('div', {class: 'actions', id: 'model-downloads'},
      saver('Download model file', 'download-weights',
        `/v1/models/${id}/versions/${m.version}/weights`, `${m.name}-v${m.version}.traind`),
      saver('Download ONNX', 'download-onnx', `/v1/models/${id}/onnx?version=${m.version}`,
        `${m.name}-v${m.version}.onnx`));

    // its batch predictions that succeeded (POST /v1/predictions), newest first
    const batches = h('div', {class: 'actions', id: 'model-predictions'});
    get('/v1/predictions').then((r) => replace(batches, ...r.predictions
      .filter((p) => p.model === m.id && p.state === 'succeeded').slice(0, 5)
      .map((p) => saver(`Download batch prediction #${p.id} (${nameOf(names.datasets, p.dataset)})`,
        `download-prediction-${p.id}`, p.output, `${m.name}-prediction-${p.id}.csv`))))
      .catch(() => {});

    const kept = versions.length === 0 ? null : h('div', {class: 'table-wrap'},
      h('table', {class: 'table compact', id: 'versions-table'},
        h('thead', {}, h('tr', {}, h('th', {}, 'Version'), h('th', {}, 'Job'),
          h('th', {class: 'num'}, 'Epoch'), h('th', {class: 'num'}, 'Size'),
          h('th', {}, 'Published'))),
        h('tbody', {}, versions.map((v) => h('tr', {'data-version': String(v.version)},
          h('td', {class: 'mono'}, `v${v.version}`),
          h('td', {}, v.job ? h('a', {class: 'mono', href: `#/jobs/${v.job}`}, `#${v.job}`) : '—'),
          h('td', {class: 'num'}, v.epoch ?? '—'), h('td', {class: 'num'}, bytes(v.bytes)),
          h('td', {class: 'muted', title: when(v.published_at)},
            v.published_at ? ago(v.published_at) : '—'))))));

    const history = jobs.length === 0
      ? h('p', {class: 'muted'}, 'No job has trained this model yet.')
      : h('div', {class: 'table-wrap'}, h('table', {class: 'table compact'},
        h('thead', {}, h('tr', {}, h('th', {}, 'Job'), h('th', {}, 'Dataset'), h('th', {}, 'State'),
          h('th', {class: 'num'}, 'Epochs'), h('th', {class: 'num'}, 'Loss'),
          h('th', {class: 'num'}, 'Accuracy'), h('th', {}, 'Took'), h('th', {}, 'Finished'))),
        h('tbody', {}, jobs.map((j) => h('tr', {},
          h('td', {}, h('a', {class: 'mono', href: `#/jobs/${j.id}`}, `#${j.id}`),
            j.id === m.last_job ? h('span', {class: 'muted small'}, ' current') : null),
          h('td', {}, nameOf(names.datasets, j.dataset)),
          h('td', {}, badge(j.state)),
          h('td', {class: 'num'}, `${j.epoch} / ${j.epochs}`),
          h('td', {class: 'num'}, num(j.loss)), h('td', {class: 'num'}, pct(j.accuracy)),
          h('td', {}, duration(elapsed(j.started_at, j.finished_at))),
          h('td', {class: 'muted', title: when(j.finished_at)},
            j.finished_at ? ago(j.finished_at) : '—'))))));

    const facts = [
      ['Inputs', m.encoding ? `${inputWidth} (${m.encoding.columns.length} columns encoded)`
        : inputWidth ?? 'the columns of its first table'], ['Outputs', width], ['Loss', m.spec.loss],
      ['Parameters', int(m.parameters)], ['Normalize inputs', m.spec.normalize ? 'yes' : 'no'],
      ['Seed', m.spec.seed], ['Weights version', m.trained ? m.version : 'untrained'],
      ['Classes', m.classes ? m.classes.join(', ') : '—'], ['Created', when(m.created_at)],
    ];

    replace(main,
      h('nav', {class: 'crumbs'}, h('a', {href: '#/models'}, 'Models'), h('span', {}, m.name)),
      pageHeader(h('span', {}, `${m.name} `,
        m.trained ? badge(`v${m.version}`, 'succeeded') : badge('untrained', 'queued')),
      `Model #${m.id}`,
      h('a', {class: 'button primary', href: `#/jobs/new?model=${m.id}`}, 'Train')),
      card('Graph', graphView(m, jobs)),
      h('div', {class: 'grid-main-side'},
        h('div', {class: 'stack'},
          card('Layers', h('div', {class: 'table-wrap'}, h('table', {class: 'table compact'},
            h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Type'),
              h('th', {class: 'num'}, 'Units'), h('th', {}, 'Activation'), h('th', {}, 'Init'),
              h('th', {class: 'num'}, 'Parameters'))),
            h('tbody', {}, layers)))),
          card('Predict', form),
          evaluationsCard,
          card('Versions', h('p', {class: 'muted small'}, m.trained
            ? `The weights are at version ${m.version}, ` +
              (m.last_job ? `published by job #${m.last_job}. ` : 'imported from a model file. ') +
              'Each checkpoint a job writes publishes a new version; the server keeps the ' +
              'newest few and the last of each job, and predictions can use any of them.'
            : 'No weights yet.'), downloads, batches, kept,
          h('p', {class: 'muted small'}, 'The jobs that trained it:'), history)),
        card('Summary', h('dl', {class: 'props'},
          facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])))));
  }
}

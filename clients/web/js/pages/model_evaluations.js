// pages/model_evaluations.js — a model's evaluations on the model page: the
// list (GET /v1/models/{id}/evaluations), one of them in full (GET
// .../evaluations/{eid}) and a form to evaluate the weights on a stored
// dataset (POST /v1/models/{id}/evaluate, answered once computed).
// Classification shows the headline metrics, the confusion matrix as a
// heatmap table with its labels, the per-class table and the ROC and
// precision-recall curves; regression its metrics, actual against predicted
// and a histogram of the residuals of the sample the evaluation keeps.

import {ApiError, get, post} from '../api.js';
import {binCounts, binLabels, bars} from '../bars.js';
import {badge, empty, formError, h, replace, toast} from '../dom.js';
import {ago, int, num, pct, when} from '../format.js';
import {nameOf} from '../resources.js';
import {xyChart} from '../xy.js';

const RESIDUAL_BINS = 20;
const GREY = '#94a3b8';

function stat(label, value, note) {
  return h('div', {class: 'stat', title: note || null}, h('span', {class: 'stat-label'}, label),
    h('span', {class: 'stat-value'}, value));
}

/** The headline numbers of a list's summary, as one line. */
function headline(e) {
  const s = e.summary;
  return e.task === 'classification'
    ? `accuracy ${pct(s.accuracy)}, log loss ${num(s.log_loss)}, ROC AUC ${num(s.roc_auc)}`
    : `RMSE ${num(s.rmse)}, MAE ${num(s.mae)}, R² ${num(s.r2)}`;
}

/** Rows actual, columns predicted; a cell's shade is its share of the row. */
function confusion(labels, matrix) {
  return h('div', {class: 'table-wrap'}, h('table', {class: 'table compact', id: 'confusion-matrix'},
    h('thead', {}, h('tr', {}, h('th', {}, 'actual ╲ predicted'),
      labels.map((l) => h('th', {class: 'num'}, l)))),
    h('tbody', {}, matrix.map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0);
      return h('tr', {}, h('th', {}, labels[i]), row.map((count) => {
        const share = total > 0 ? count / total : 0;
        return h('td', {class: 'num heat', dataset: {count: String(count)},
          style: {background: `rgba(79, 70, 229, ${(0.06 + 0.74 * share).toFixed(3)})`,
            color: share > 0.5 ? '#fff' : ''}}, int(count));
      }));
    }))));
}

function perClass(rows) {
  return h('div', {class: 'table-wrap'}, h('table', {class: 'table compact', id: 'per-class'},
    h('thead', {}, h('tr', {}, h('th', {}, 'Class'), h('th', {class: 'num'}, 'Precision'),
      h('th', {class: 'num'}, 'Recall'), h('th', {class: 'num'}, 'F1'),
      h('th', {class: 'num'}, 'Support'), h('th', {class: 'num'}, 'ROC AUC'))),
    h('tbody', {}, rows.map((c) => h('tr', {}, h('td', {}, c.label),
      h('td', {class: 'num'}, num(c.precision)), h('td', {class: 'num'}, num(c.recall)),
      h('td', {class: 'num'}, num(c.f1)), h('td', {class: 'num'}, int(c.support)),
      h('td', {class: 'num'}, num(c.roc_auc)))))));
}

const plot = (id, title) => h('div', {}, h('h3', {class: 'chart-title'}, title),
  h('div', {class: 'chart', id}));

/** The elements of a classification, and a function drawing its curves once shown. */
function classification(x) {
  const name = (c) => x.labels[c.class];
  return {
    body: [h('div', {class: 'stats'}, stat('Accuracy', pct(x.accuracy)),
      stat('Balanced accuracy', pct(x.balanced_accuracy)), stat('Log loss', num(x.log_loss)),
      stat('ROC AUC', num(x.roc_auc), x.roc_auc_note),
      stat('Average precision', num(x.average_precision))),
    h('p', {class: 'muted small'}, 'Confusion matrix: rows are the actual classes, columns the ' +
      'predicted ones.'), confusion(x.labels, x.confusion_matrix), perClass(x.per_class),
    h('div', {class: 'grid-2'}, plot('roc-curve', 'ROC curve'),
      plot('pr-curve', 'Precision-recall curve'))],
    draw: () => [
      xyChart(document.getElementById('roc-curve'), [...x.roc_curves.map((c) =>
        ({label: name(c), x: c.fpr, y: c.tpr})),
      {label: 'chance', x: [0, 1], y: [0, 1], color: GREY, dash: [4, 4]}],
      {x: 'false positive rate', y: 'true positive rate', range: [0, 1]}),
      xyChart(document.getElementById('pr-curve'), x.pr_curves.map((c) =>
        ({label: name(c), x: c.recall, y: c.precision})),
      {x: 'recall', y: 'precision', range: [0, 1]}),
    ],
  };
}

/** The same for a regression: its first output's actual and predicted values. */
function regression(x) {
  const actual = x.sample.actual.map((r) => r[0]);
  const predicted = x.sample.predicted.map((r) => r[0]);
  const residuals = actual.map((a, i) => a - predicted[i]);
  const lo = Math.min(...actual, ...predicted);
  const hi = Math.max(...actual, ...predicted);
  const rlo = Math.min(...residuals);
  const rhi = Math.max(...residuals);
  const n = Math.min(RESIDUAL_BINS, new Set(residuals).size);
  return {
    body: [h('div', {class: 'stats'}, stat('RMSE', num(x.rmse)), stat('MAE', num(x.mae)),
      stat('R²', num(x.r2), x.r2_note), stat('Median abs. error', num(x.median_absolute_error)),
      stat('Max error', num(x.max_error)), stat('Explained variance', num(x.explained_variance))),
    h('div', {class: 'grid-2'}, plot('scatter-chart',
      `Actual and predicted${x.outputs.length > 1 ? ', first output' : ''} ` +
      `(${int(actual.length)} rows)`),
    h('div', {}, h('h3', {class: 'chart-title'}, 'Residuals (actual − predicted)'),
      h('div', {id: 'residual-histogram'},
        bars(binCounts(residuals, n, rlo, rhi), binLabels(n, rlo, rhi, (v) => num(v)),
          {width: 420, height: 160})),
      h('p', {class: 'muted small'}, `${num(rlo)} … ${num(rhi)}`)))],
    draw: () => [xyChart(document.getElementById('scatter-chart'), [
      {label: 'rows', x: actual, y: predicted, points: true},
      {label: 'predicted = actual', x: [lo, hi], y: [lo, hi], color: GREY, dash: [4, 4]}],
    {x: 'actual', y: 'predicted'})],
  };
}

/**
 * @param m        the model (GET /v1/models/{id})
 * @param datasets id → dataset, to name them and to choose one
 * @return {element, stop()}
 */
export function evaluations(m, datasets) {
  let charts = [];
  let current = null;
  let list = [];
  const tbody = h('tbody');
  const detail = h('div', {id: 'evaluation'});
  const error = h('div', {class: 'alert', hidden: true, id: 'evaluate-error'});
  const dataset = h('select', {id: 'evaluate-dataset'}, [...datasets.values()].reverse().map((d) =>
    h('option', {value: String(d.id)}, `${d.name} #${d.id} (${int(d.rows)} rows)`)));
  const submit = h('button', {type: 'submit', class: 'button', id: 'evaluate-submit',
    disabled: !m.trained || datasets.size === 0}, 'Evaluate');
  const form = h('form', {class: 'form', id: 'evaluate-form'},
    h('label', {class: 'field'}, h('span', {}, 'Evaluate the newest weights on a dataset'), dataset),
    error, h('div', {class: 'actions'}, submit));
  const stopCharts = () => {
    for (const c of charts) c.destroy();
    charts = [];
  };

  function renderList() {
    replace(tbody, list.length === 0
      ? h('tr', {}, h('td', {colspan: 5}, empty(m.trained
        ? 'Not evaluated yet: choose a dataset below.' : 'Train the model first.')))
      : list.slice().reverse().map((e) => h('tr', {dataset: {evaluation: String(e.id)},
        class: e.id === current ? 'highlight clickable' : 'clickable',
        onclick: () => open(e.id)},
      h('td', {class: 'mono'}, `#${e.id}`), h('td', {class: 'mono'}, `v${e.version}`),
      h('td', {}, nameOf(datasets, e.dataset), h('span', {class: 'muted small'},
        ` ${int(e.rows)} rows`)),
      h('td', {class: 'small'}, headline(e)),
      h('td', {class: 'muted', title: when(e.created_at)}, ago(e.created_at)))));
  }

  function show(e) {
    stopCharts();
    current = e.id;
    renderList();
    const part = e.task === 'classification' ? classification(e.metrics) : regression(e.metrics);
    replace(detail, h('h3', {class: 'chart-title'}, `Evaluation #${e.id} `,
      badge(e.task, e.task), h('span', {class: 'muted small'},
        ` weights v${e.version} on ${nameOf(datasets, e.dataset)}, ${int(e.rows)} rows`)),
    part.body);
    charts = part.draw();
  }

  async function open(eid) {
    try {
      show(await get(`/v1/models/${m.id}/evaluations/${eid}`));
    } catch (err) {
      toast(`Cannot read evaluation ${eid}: ${err.message}`, 'error');
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    formError(error, null);
    submit.disabled = true;
    try {
      const e = await post(`/v1/models/${m.id}/evaluate`, {dataset: Number(dataset.value)});
      list = (await get(`/v1/models/${m.id}/evaluations`)).evaluations;
      show(e);
    } catch (err) {
      formError(error, err instanceof ApiError ? err : {message: String(err)});
    } finally {
      submit.disabled = false;
    }
  });

  (async () => {
    try {
      list = (await get(`/v1/models/${m.id}/evaluations`)).evaluations;
      renderList();
      if (list.length > 0) await open(list[list.length - 1].id);
    } catch (err) {
      toast(`Cannot read the evaluations: ${err.message}`, 'error');
    }
  })();

  return {
    element: [h('div', {class: 'table-wrap'}, h('table', {class: 'table compact',
      id: 'evaluations-table'},
    h('thead', {}, h('tr', {}, h('th', {}, 'Evaluation'), h('th', {}, 'Weights'),
      h('th', {}, 'Dataset'), h('th', {}, 'Headline'), h('th', {}, 'When'))), tbody)),
    form, detail],
    stop: stopCharts,
  };
}

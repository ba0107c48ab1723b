// pages/dataset_profile.js — a typed table's columns (issue 14) as the
// datasets page shows them: type, blanks, distinct values, the most frequent
// categories or the range of numbers and dates, and a small chart of each —
// the top categories' counts for category and boolean columns, the
// histogram GET /v1/datasets/{id} counts for numbers and dates.

import {binLabels, bars} from '../bars.js';
import {h} from '../dom.js';
import {int, num} from '../format.js';

const DAY = 86400000;

/** The text of a category or boolean value as the profile lists it. */
const valueText = (v) => (typeof v === 'boolean' ? String(v) : v);

// A date column's min and max are ISO 8601 texts; its bins are over seconds.
function dateLabel(ms, spanMs) {
  const iso = new Date(ms).toISOString();
  return spanMs < 2 * DAY ? iso.slice(0, 16).replace('T', ' ') : iso.slice(0, 10);
}

/** The column's chart, or null when it has nothing to draw. */
export function columnChart(c) {
  if (c.histogram) {
    if (c.type === 'datetime') {
      const lo = Date.parse(c.min);
      const hi = Date.parse(c.max);
      return bars(c.histogram, binLabels(c.histogram.length, lo, hi,
        (ms) => dateLabel(ms, hi - lo)));
    }
    return bars(c.histogram, binLabels(c.histogram.length, c.min, c.max, (v) => num(v)));
  }
  if (c.top.length > 0) {
    return bars(c.top.map((t) => t.count), c.top.map((t) => valueText(t.value)),
      {color: '#10b981'});
  }
  return null;
}

function summary(c) {
  if (c.top.length > 0) {
    return c.top.slice(0, 3).map((t) => `${valueText(t.value)} (${int(t.count)})`).join(', ');
  }
  if (c.min === null) return '';
  if (c.type === 'datetime') return `${c.min.slice(0, 10)} … ${c.max.slice(0, 10)}`;
  return `${num(c.min)} … ${num(c.max)}, mean ${num(c.mean)} ± ${num(c.std)}`;
}

/** The table of d's columns (d as GET /v1/datasets/{id} answers a table). */
export function profileTable(d) {
  return h('div', {class: 'table-wrap'}, h('table', {class: 'table compact', id: 'dataset-profile'},
    h('thead', {}, h('tr', {}, h('th', {}, 'Column'), h('th', {}, 'Type'),
      h('th', {class: 'num'}, 'Missing'), h('th', {class: 'num'}, 'Distinct'),
      h('th', {}, 'Top or range'), h('th', {}, 'Distribution'))),
    h('tbody', {}, d.columns.map((c) => h('tr', {dataset: {column: c.name}},
      h('td', {class: 'strong'}, c.name,
        c.name === d.target ? h('span', {class: 'muted small'}, ' target') : null),
      h('td', {}, c.type), h('td', {class: 'num'}, int(c.missing)),
      h('td', {class: 'num'}, int(c.distinct)), h('td', {class: 'small'}, summary(c)),
      h('td', {class: 'chart-cell'}, columnChart(c)))))));
}

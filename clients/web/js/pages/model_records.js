// pages/model_records.js — the predict form of a model trained on a table:
// one field per column of its fitted encoding (GET /v1/models/{id}'s
// `encoding`), read into a raw record for POST /v1/models/{id}/predict
// {"records": [...]}. A blank field is a missing value, which the model
// imputes (numbers) or encodes as no category; a category field lists the
// categories the encoding kept, the others all going to its "other" slot.

import {h} from '../dom.js';

// A field per type: the input, and how its value reads into the record.
const FIELDS = {
  category: (c) => ({
    input: h('select', {}, h('option', {value: ''}, '— missing —'),
      (c.categories || []).map((v) => h('option', {value: v}, v))),
    read: (v) => v,
  }),
  boolean: () => ({
    input: h('select', {}, h('option', {value: ''}, '— missing —'),
      h('option', {value: 'true'}, 'true'), h('option', {value: 'false'}, 'false')),
    read: (v) => v === 'true',
  }),
  datetime: () => ({input: h('input', {type: 'date'}), read: (v) => v}),
  number: (c) => ({
    input: h('input', {type: 'number', step: 'any', placeholder: placeholder(c)}),
    read: Number,
  }),
  integer: (c) => ({
    input: h('input', {type: 'number', step: '1', placeholder: placeholder(c)}),
    read: Number,
  }),
};

// The training rows' mean, which a blank number is not (it gets `fill`).
function placeholder(c) {
  return c.mean && c.mean.length > 0 && c.mean[0] !== null ? `mean ${c.mean[0].toPrecision(4)}`
    : 'a number';
}

/**
 * @param encoding the model's fitted encoding
 * @return {element, read() → the record ({column: value or null})}
 */
export function recordFields(encoding) {
  const fields = encoding.columns.map((c, i) => {
    const f = (FIELDS[c.type] || FIELDS.number)(c);
    f.input.id = `record-${i}`;
    f.input.dataset.column = c.name;
    f.input.dataset.type = c.type;
    return {name: c.name, ...f,
      label: h('label', {class: 'field', for: f.input.id},
        h('span', {}, c.name, h('span', {class: 'muted small'}, ` ${c.type}`)), f.input)};
  });
  return {
    element: h('div', {class: 'record-fields', id: 'predict-record'}, fields.map((f) => f.label)),
    read() {
      const record = {};
      for (const f of fields) record[f.name] = f.input.value === '' ? null : f.read(f.input.value);
      return record;
    },
  };
}

/** "island=Biscoe, mass=4200" — a record's values that are not missing. */
export function recordText(record) {
  return Object.entries(record).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`)
    .join(', ') || 'all missing';
}

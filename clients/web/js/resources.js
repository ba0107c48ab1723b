// resources.js — model and dataset names for pages that show ids.

import {get} from './api.js';

/** @return {models: Map(id → model), datasets: Map(id → dataset)} */
export async function loadNames() {
  const [m, d] = await Promise.all([get('/v1/models'), get('/v1/datasets')]);
  return {
    models: new Map(m.models.map((x) => [x.id, x])),
    datasets: new Map(d.datasets.map((x) => [x.id, x])),
  };
}

/** "iris-net" for a known id, "#7" for an unknown (deleted) one, "—" for none. */
export function nameOf(map, id) {
  if (id === null || id === undefined) return '—';
  const x = map.get(id);
  return x ? x.name : `#${id}`;
}

/** "4 → 16 relu → 3 softmax" for a model spec. */
export function architecture(spec) {
  const parts = [String(spec.inputs)];
  for (const l of spec.layers) {
    parts.push(l.type === 'dense' ? `${l.units} ${l.activation}` : `dropout ${l.rate}`);
  }
  return parts.join(' → ');
}

export const FINAL_STATES = new Set(['succeeded', 'failed', 'cancelled']);

export function isActive(job) {
  return !FINAL_STATES.has(job.state);
}

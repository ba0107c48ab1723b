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

/** A row's width: a layer list's inputs, or the sum of a graph's input shapes. */
export function inputWidth(spec) {
  if (!spec.nodes) return spec.inputs;
  return Object.values(spec.inputs).reduce((w, dims) => w + dims.reduce((a, b) => a * b, 1), 0);
}

/** "4 → 16 relu → 3 softmax" for a model spec; "4 → graph of 5 nodes → y" for a graph. */
export function architecture(spec) {
  if (spec.nodes) return `${inputWidth(spec)} → graph of ${spec.nodes.length} nodes → ${spec.output}`;
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

/* How far a job has come: a later tuple is a later state of the same job. */
function progressKey(j) {
  const rank = {queued: 0, running: 1}[j.state] ?? 2;
  return [rank === 2 ? 1 : 0, j.restarts, j.epoch, rank, j.cancel_requested ? 1 : 0];
}

/**
 * Is snapshot a an older state of job b? A job read by a request can arrive
 * after its stream told of a later state (a cancel's answer after the
 * "cancelled" event), and must not undo it.
 */
export function behind(a, b) {
  const ka = progressKey(a);
  const kb = progressKey(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i];
  return false;
}

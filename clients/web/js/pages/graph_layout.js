// pages/graph_layout.js — a model's graph as nodes and edges, and where to
// draw them: a layered DAG laid out left to right.
//
// The graph comes from a trace (POST /v1/models/{id}/trace: one node per
// step of the chain rule, each naming its `inputs`) or, before one, from the
// model's spec, named as the server's trace names them (core/trace.c's
// chain: "x", per layer a dense product "layers[i]" and its activation
// "layers[i].relu", or a dropout "layers[i]"; an output activation fused
// with the loss stays in the loss). A graph spec ({"inputs": {...},
// "nodes": [...]}) reads the same way, so several inputs and a node with two
// inputs draw as they are. A "loss" node takes the graph's sinks.
//
// Layout: a node's column is its longest path from an input (so every edge
// points right); in each column, nodes are ordered by the mean row of their
// inputs (one barycentre sweep, ties kept in the spec's order), which keeps
// a chain straight and the edges of a small DAG from crossing in the usual
// cases. O(nodes + edges); models have at most a few hundred nodes.

// The loss fuses these output activations (the trace's `head`).
const FUSED = {cross_entropy: 'softmax', binary_cross_entropy: 'sigmoid'};

/**
 * The nodes of a model's spec before any trace.
 * @param spec  the model's spec (GET /v1/models/{id}'s `spec`)
 * @param width the input width (null: not known until its first table)
 * @return [{name, op, inputs, shape, layer}]
 */
export function specNodes(spec, width) {
  if (Array.isArray(spec.nodes)) {
    const inputs = Object.entries(spec.inputs || {}).map(([name, shape]) =>
      ({name, op: 'input', inputs: [], shape: Array.isArray(shape) ? shape : [shape]}));
    return [...inputs, ...spec.nodes.map((n) => ({name: n.name, op: n.op, inputs: n.inputs || [],
      shape: n.units ? [n.units] : null, layer: null}))];
  }
  const nodes = [{name: 'x', op: 'input', inputs: [], shape: width ? [width] : null, layer: null}];
  let prev = 'x';
  let shape = nodes[0].shape;
  spec.layers.forEach((l, i) => {
    const name = `layers[${i}]`;
    if (l.type === 'dropout') {
      nodes.push({name, op: 'dropout', inputs: [prev], shape, layer: i});
      prev = name;
      return;
    }
    shape = [l.units];
    nodes.push({name, op: 'dense', inputs: [prev], shape, layer: i});
    prev = name;
    const fused = i === spec.layers.length - 1 && FUSED[spec.loss] === l.activation;
    if (l.activation && l.activation !== 'linear' && !fused) {
      prev = `${name}.${l.activation}`;
      nodes.push({name: prev, op: l.activation, inputs: [name], shape, layer: i});
    }
  });
  return nodes;
}

/** The nodes of a trace answer, in the same form as specNodes'. */
export function traceNodes(trace) {
  return trace.nodes.map((n) => ({name: n.name, op: n.op, inputs: n.inputs || [],
    shape: n.shape || (n.value ? n.value.shape : null), layer: n.layer ?? null}));
}

/**
 * Add the loss node and the edges, and place every node.
 * @param nodes [{name, op, inputs, ...}] in a topological order or not
 * @return {nodes: [{..., column, row}], edges: [{from, to}], columns, rows}
 */
export function layout(nodes) {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const sinks = nodes.filter((n) => !used.has(n.name)).map((n) => n.name);
  const all = [...nodes, {name: 'loss', op: 'loss', inputs: sinks, shape: [], layer: null}];
  byName.set('loss', all[all.length - 1]);
  const edges = all.flatMap((n) => n.inputs.filter((i) => byName.has(i))
    .map((from) => ({from, to: n.name})));

  // longest path from an input; a cycle (never from the server) stops at the node seen twice
  const column = new Map();
  const depth = (n, seen) => {
    if (column.has(n.name)) return column.get(n.name);
    if (seen.has(n.name)) return 0;
    seen.add(n.name);
    const parents = n.inputs.filter((i) => byName.has(i)).map((i) => depth(byName.get(i), seen));
    const d = parents.length === 0 ? 0 : 1 + Math.max(...parents);
    column.set(n.name, d);
    return d;
  };
  for (const n of all) depth(n, new Set());

  const columns = Math.max(...column.values()) + 1;
  const byColumn = Array.from({length: columns}, () => []);
  for (const n of all) byColumn[column.get(n.name)].push(n);
  const row = new Map();
  byColumn.forEach((list, c) => {
    const key = (n) => {
      const rows = n.inputs.filter((i) => row.has(i)).map((i) => row.get(i));
      return rows.length === 0 || c === 0 ? list.indexOf(n) : rows.reduce((a, b) => a + b) / rows.length;
    };
    const keyed = list.map((n, k) => ({n, k, key: key(n)}));
    keyed.sort((a, b) => a.key - b.key || a.k - b.k);
    keyed.forEach(({n}, r) => row.set(n.name, r));
  });
  const rows = Math.max(...byColumn.map((l) => l.length));
  return {
    nodes: all.map((n) => ({...n, column: column.get(n.name), row: row.get(n.name),
      // centre a short column against the tallest
      offset: (rows - byColumn[column.get(n.name)].length) / 2})),
    edges, columns, rows,
  };
}

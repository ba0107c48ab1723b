// run.js — run ONNX models in ONNX Runtime (onnxruntime-node, CPU) for
// tests/e2e/test_onnx.py. Reads from stdin a JSON list of
// {"model": "<file.onnx>", "inputs": [[...], ...]} (rows of the one float
// input) or {"model", "columns": {"<name>": {"type": "float64" | "string",
// "data": [...]}}} (a table model: one (N, 1) input per column; a null
// float64 is NaN, a missing value) and prints one JSON list
// of {"outputs": {"<name>": {"dims": [...], "data": [...]}}}, one per model,
// every output of each graph, in order. Floats are the float32 values ORT
// computed, printed exactly (as doubles).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function feeds(session, job) {
  if (job.columns === undefined) {
    const rows = job.inputs.length, width = job.inputs[0].length;
    const x = new ort.Tensor('float32', Float32Array.from(job.inputs.flat()), [rows, width]);
    return {[session.inputNames[0]]: x};
  }
  const out = {};
  for (const [name, col] of Object.entries(job.columns)) {
    const n = col.data.length;
    out[name] = col.type === 'string'
      ? new ort.Tensor('string', col.data, [n, 1])
      : new ort.Tensor('float64', Float64Array.from(col.data, (v) => v === null ? NaN : v), [n, 1]);
  }
  return out;
}

async function run(job) {
  const session = await ort.InferenceSession.create(job.model);
  const result = await session.run(feeds(session, job));
  const outputs = {};
  for (const name of session.outputNames) {
    const t = result[name];
    outputs[name] = {dims: t.dims, data: Array.from(t.data, (v) => typeof v === 'bigint' ? Number(v) : v)};
  }
  return {outputs};
}

async function main() {
  const jobs = JSON.parse(fs.readFileSync(0, 'utf8'));
  const answers = [];
  for (const job of jobs) answers.push(await run(job));
  process.stdout.write(JSON.stringify(answers));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});

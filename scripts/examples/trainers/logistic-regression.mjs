#!/usr/bin/env node
// Example trainer for Driftline's `local` training backend: binary logistic regression, trained by
// full-batch gradient descent with L2 regularisation on standardised numeric features and one-hot
// categorical ones. Small and honest: it really learns the bundled credit dataset in about a second.
//
// The local-trainer contract (README.md, "Trainer contract"):
//   <command> train   --train <csv> --holdout <csv> --hyperparameters <json file> --output-dir <dir>
//     writes <dir>/model.<ext> (exactly one file) and <dir>/metrics.json ({"name": number, ...})
//   <command> predict --model <model file> --data <csv> --output <csv>
//     writes a CSV with a `prediction` column (and `probability` of the positive class)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function parseArgs(argv) {
  const [command, ...rest] = argv;
  const flags = {};
  for (let i = 0; i < rest.length; i += 2) flags[rest[i].replace(/^--/, '')] = rest[i + 1];
  return { command, flags };
}

function readCsv(path) {
  const [headerLine, ...lines] = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const header = headerLine.split(',');
  const rows = lines.map((line) => line.split(','));
  return { header, rows };
}

function fitEncoder({ header, rows }, features) {
  return features.map((name) => {
    const index = header.indexOf(name);
    if (index === -1) throw new Error(`feature column "${name}" is not in the data`);
    const values = rows.map((r) => r[index]);
    const numeric = values.every((v) => v !== '' && Number.isFinite(Number(v)));
    if (numeric) {
      const xs = values.map(Number);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) || 1;
      return { name, kind: 'numeric', mean, std };
    }
    return { name, kind: 'categorical', levels: [...new Set(values)].sort() };
  });
}

function encode(encoder, { header, rows }) {
  const indexes = encoder.map((f) => header.indexOf(f.name));
  return rows.map((row) => {
    const x = [1]; // intercept
    encoder.forEach((f, j) => {
      const raw = row[indexes[j]];
      if (f.kind === 'numeric') x.push((Number(raw) - f.mean) / f.std);
      else for (const level of f.levels) x.push(raw === level ? 1 : 0);
    });
    return x;
  });
}

const sigmoid = (z) => 1 / (1 + Math.exp(-z));

function train(flags) {
  const hp = JSON.parse(readFileSync(flags.hyperparameters, 'utf8'));
  const label = hp.label ?? 'default';
  const data = readCsv(flags.train);
  const labelIndex = data.header.indexOf(label);
  if (labelIndex === -1) throw new Error(`label column "${label}" is not in ${flags.train}`);
  const features = hp.features ?? data.header.filter((h) => h !== label);
  const encoder = fitEncoder(data, features);
  const X = encode(encoder, data);
  const y = data.rows.map((r) => Number(r[labelIndex]));
  const epochs = hp.epochs ?? 300;
  const rate = hp.learningRate ?? 0.5;
  const l2 = hp.l2 ?? 0.001;
  const w = new Array(X[0].length).fill(0);
  let loss = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const grad = new Array(w.length).fill(0);
    loss = 0;
    for (let i = 0; i < X.length; i++) {
      const p = sigmoid(X[i].reduce((s, v, j) => s + v * w[j], 0));
      const err = p - y[i];
      for (let j = 0; j < w.length; j++) grad[j] += err * X[i][j];
      loss -= y[i] * Math.log(Math.max(p, 1e-15)) + (1 - y[i]) * Math.log(Math.max(1 - p, 1e-15));
    }
    for (let j = 0; j < w.length; j++) w[j] -= rate * (grad[j] / X.length + (j === 0 ? 0 : l2 * w[j]));
    if (epoch % Math.max(1, Math.floor(epochs / 10)) === 0 || epoch === epochs) {
      console.log(`epoch ${epoch}/${epochs} train log loss ${(loss / X.length).toFixed(5)}`);
    }
  }
  const accuracy = X.filter((x, i) => (sigmoid(x.reduce((s, v, j) => s + v * w[j], 0)) >= 0.5 ? 1 : 0) === y[i]).length / X.length;
  writeFileSync(join(flags['output-dir'], 'model.json'), JSON.stringify({ kind: 'logistic-regression', label, encoder, weights: w }, null, 2));
  writeFileSync(join(flags['output-dir'], 'metrics.json'), JSON.stringify({ trainLogLoss: loss / X.length, trainAccuracy: accuracy }));
  console.log(`trained on ${X.length} rows, ${w.length - 1} encoded features, train accuracy ${accuracy.toFixed(4)}`);
}

function predict(flags) {
  const model = JSON.parse(readFileSync(flags.model, 'utf8'));
  const data = readCsv(flags.data);
  const X = encode(model.encoder, data);
  const lines = ['prediction,probability'];
  for (const x of X) {
    const p = sigmoid(x.reduce((s, v, j) => s + v * model.weights[j], 0));
    lines.push(`${p >= 0.5 ? 1 : 0},${p.toFixed(8)}`);
  }
  writeFileSync(flags.output, `${lines.join('\n')}\n`);
  console.log(`wrote ${X.length} predictions to ${flags.output}`);
}

const { command, flags } = parseArgs(process.argv.slice(2));
try {
  if (command === 'train') train(flags);
  else if (command === 'predict') predict(flags);
  else throw new Error(`unknown command "${command}": expected train or predict`);
} catch (error) {
  console.error(`logistic-regression: ${error.message}`);
  process.exit(2);
}

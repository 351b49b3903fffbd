#!/usr/bin/env node
// Reads a Vitest JSON report and prints "<passed> <failed>" on the first line, then one line per
// failed test (file, name, the first line of its error). CI keeps only the tail of its log, so the
// names of failed tests must be printed where the closing line is, not only in the runner's output.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const reportPath = process.argv[2];
const root = process.argv[3] ?? process.cwd();
const report = JSON.parse(readFileSync(path.resolve(reportPath), 'utf8'));

const notRun = report.numTotalTests - report.numPassedTests - report.numFailedTests - report.numPendingTests - report.numTodoTests;
console.log(report.numPassedTests, report.numFailedTests + notRun);

for (const file of report.testResults ?? []) {
  const relative = path.relative(root, file.name);
  const failed = (file.assertionResults ?? []).filter((test) => test.status === 'failed');
  for (const test of failed) {
    const firstLine = String(test.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 300);
    console.log(`FAILED ${relative} > ${test.fullName}: ${firstLine}`);
  }
  // A file that fails to load (syntax error, failing beforeAll) has no failed assertions of its own.
  if (failed.length === 0 && file.status === 'failed') {
    const firstLine = String(file.message ?? '').split('\n')[0].slice(0, 300);
    console.log(`FAILED ${relative} (file): ${firstLine}`);
  }
}

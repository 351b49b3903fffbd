/**
 * `npm run build`, second step: writes the workflow bundle (workflows + interceptor modules) to
 * dist/workflow-bundle.js, which the compiled worker loads instead of running webpack at start-up.
 * Runs compiled (node dist/scripts/build-workflow-bundle.js), bundling the compiled workflows.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BUILT_BUNDLE_PATH, bundleWorkflows } from '../workers/bundle.ts';
import { WORKFLOWS_PATH } from '../workers/worker.ts';

const started = Date.now();
const { code } = await bundleWorkflows(WORKFLOWS_PATH);
await mkdir(dirname(BUILT_BUNDLE_PATH), { recursive: true });
await writeFile(BUILT_BUNDLE_PATH, code);
process.stdout.write(`workflow bundle: ${BUILT_BUNDLE_PATH} (${(code.length / 1024).toFixed(0)} KiB, ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);

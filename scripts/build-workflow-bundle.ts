/**
 * `npm run build`, second step: writes the workflow bundles (workflows + interceptor modules;
 * without and with the tracing interceptors) to dist/, which the compiled worker loads instead of
 * running webpack at start-up. Runs compiled (node dist/scripts/build-workflow-bundle.js), so it
 * bundles the compiled workflows.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BUILT_BUNDLES, bundleWorkflows } from '../workers/bundle.ts';
import { WORKFLOWS_PATH } from '../workers/worker.ts';

for (const [variant, path] of Object.entries(BUILT_BUNDLES)) {
  const started = Date.now();
  const { code } = await bundleWorkflows(WORKFLOWS_PATH, { tracing: variant === 'traced' });
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, code);
  process.stdout.write(`workflow bundle (${variant}): ${path} (${(code.length / 1024).toFixed(0)} KiB, ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

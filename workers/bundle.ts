/**
 * The workflow bundle: the workflows plus the workflow interceptor modules every Driftline worker
 * runs (tracing, stage/outcome metrics). `npm run build` writes it once to `dist/workflow-bundle.js`
 * (scripts/build-workflow-bundle.ts), so a production worker starts without webpack; a worker
 * run from the sources bundles at start-up as before.
 */
import { bundleWorkflowCode, type WorkerOptions, type WorkflowBundleOption } from '@temporalio/worker';

export type WorkerSinks = NonNullable<WorkerOptions['sinks']>;
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** This module runs from the sources (.ts, through tsx) or compiled under dist/ (.js). */
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const EXT = FROM_SOURCES ? 'ts' : 'js';

export const WORKFLOW_INTERCEPTOR_MODULES: readonly string[] = [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
  fileURLToPath(new URL(`../workflows/metrics-interceptor.${EXT}`, import.meta.url)),
];

/**
 * Sinks the bundled interceptors call: the tracing interceptors export spans through `exporter`,
 * which discards them unless tracing replaces it (workers/tracing.ts). Without it the SDK logs an
 * error for every workflow task.
 */
export function bundledInterceptorSinks(): WorkerSinks {
  return { exporter: { export: { fn: () => {} } } };
}

/** Where `npm run build` writes the bundle: `<repo>/dist/workflow-bundle.js`. */
export const BUILT_BUNDLE_PATH = fileURLToPath(new URL(FROM_SOURCES ? '../dist/workflow-bundle.js' : '../workflow-bundle.js', import.meta.url));

export async function bundleWorkflows(workflowsPath: string): Promise<{ code: string }> {
  return bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES], logger: quietBundlerLogger });
}

/**
 * The bundle a worker loads: an explicit path (flag or DRIFTLINE_WORKFLOW_BUNDLE) must exist; a
 * compiled worker uses the built bundle next to it; from the sources, none (bundle at start-up),
 * so a stale build never runs instead of the code being edited.
 */
export function prebuiltBundle(explicitPath: string | undefined): WorkflowBundleOption | undefined {
  if (explicitPath) {
    if (!existsSync(explicitPath)) throw new Error(`the workflow bundle ${explicitPath} does not exist; run \`npm run build\` or fix --workflow-bundle.`);
    return { codePath: explicitPath };
  }
  if (!FROM_SOURCES && existsSync(BUILT_BUNDLE_PATH)) return { codePath: BUILT_BUNDLE_PATH };
  return undefined;
}

const quietBundlerLogger = {
  trace() {},
  debug() {},
  info() {},
  warn(message: string, meta?: Record<string, unknown>) {
    console.warn(message, meta ?? '');
  },
  error(message: string, meta?: Record<string, unknown>) {
    console.error(message, meta ?? '');
  },
  log() {},
};

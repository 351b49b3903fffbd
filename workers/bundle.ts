/**
 * The workflow bundle: the workflows plus the workflow interceptor modules a Driftline worker runs
 * (stage/outcome metrics always; OpenTelemetry's only when tracing is on). `npm run build` writes
 * both variants once (scripts/build-workflow-bundle.ts), so a production worker starts without
 * webpack; a worker run from the sources bundles at start-up as before.
 *
 * Two bundles because the tracing interceptors cost memory in every cached workflow (measured by
 * `npm run bench:worker`: about 3.1 MiB of RSS per cached workflow with them, 2.4 MiB without),
 * which a worker that exports no spans should not pay. They add no commands, so workers with
 * and without them can take over each other's workflows (test/production-worker.test.ts replays
 * the recorded histories with both).
 */
import { bundleWorkflowCode, type WorkerOptions, type WorkflowBundleOption } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type WorkerSinks = NonNullable<WorkerOptions['sinks']>;

/** This module runs from the sources (.ts, through tsx) or compiled under dist/ (.js). */
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const EXT = FROM_SOURCES ? 'ts' : 'js';

const METRICS_INTERCEPTOR = fileURLToPath(new URL(`../workflows/metrics-interceptor.${EXT}`, import.meta.url));
const TRACING_INTERCEPTORS = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

export function interceptorModules(tracing: boolean): string[] {
  return tracing ? [METRICS_INTERCEPTOR, TRACING_INTERCEPTORS] : [METRICS_INTERCEPTOR];
}

/** Where `npm run build` writes the bundles: `<repo>/dist/workflow-bundle{,-traced}.js`. */
const DIST = new URL(FROM_SOURCES ? '../dist/' : '../', import.meta.url);
export const BUILT_BUNDLES = {
  plain: fileURLToPath(new URL('workflow-bundle.js', DIST)),
  traced: fileURLToPath(new URL('workflow-bundle-traced.js', DIST)),
} as const;

/**
 * Sinks the bundled tracing interceptors call: they export spans through `exporter`, which
 * discards them unless tracing replaces it (workers/tracing.ts). Without it the SDK logs an error
 * for every workflow task of a traced bundle.
 */
export function bundledInterceptorSinks(): WorkerSinks {
  return { exporter: { export: { fn: () => {} } } };
}

export async function bundleWorkflows(workflowsPath: string, options: { tracing: boolean } = { tracing: false }): Promise<{ code: string }> {
  return bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: interceptorModules(options.tracing), logger: quietBundlerLogger });
}

/**
 * The bundle a worker loads: an explicit path (flag or DRIFTLINE_WORKFLOW_BUNDLE) must exist; a
 * compiled worker uses the built bundle that matches its tracing; from the sources, a traced
 * bundle is made at start-up, and otherwise none (createDriftlineWorkers bundles), so a stale
 * build never runs instead of the code being edited.
 */
export async function workflowBundleFor(options: { explicitPath?: string; tracing: boolean; workflowsPath: string }): Promise<WorkflowBundleOption | undefined> {
  if (options.explicitPath) {
    if (!existsSync(options.explicitPath)) throw new Error(`the workflow bundle ${options.explicitPath} does not exist; run \`npm run build\` or fix --workflow-bundle.`);
    return { codePath: options.explicitPath };
  }
  const built = options.tracing ? BUILT_BUNDLES.traced : BUILT_BUNDLES.plain;
  if (!FROM_SOURCES && existsSync(built)) return { codePath: built };
  return options.tracing ? bundleWorkflows(options.workflowsPath, { tracing: true }) : undefined;
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

/**
 * Runs the bundled example inside a dev stack: the router (`driftline serve`, in process), the
 * traffic generator, the set-up of credit-example.ts, and — once per state directory, or every time
 * for the unattended demo — the drifted batch that takes the model from drift to production.
 */
import { Client, Connection } from '@temporalio/client';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOOPBACK, type DriftlineDb } from '../../../activities/db/database.ts';
import { PostgresModelRegistry } from '../../../activities/registry/postgres-registry.ts';
import { dataConverterFromEnvironment } from '../../../core/payload-codec.ts';
import type { PipelineOutcome } from '../../../core/training.ts';
import { sendDecision } from '../../cli/compliance.ts';
import { startRouter, type Router } from '../router/router.ts';
import { approveCommands, EXAMPLE_MODEL, exampleDir, runDriftedBatch, setUpExample, startTrafficGenerator, type ExampleContext } from './credit-example.ts';

export const DEFAULT_ROUTER_PORT = 8235;

export interface ExampleOptions {
  temporalAddress: string;
  db: DriftlineDb;
  home: string;
  routerPort: number;
  log: (line: string) => void;
}

export interface RunningExample {
  readonly routerUrl: string;
  readonly context: ExampleContext;
  /** Starts the drifted run unless this state directory has had one; returns its ids when it starts one. */
  driftedRunOnce(): Promise<{ pipelineId: string; gateId: string; version: number } | null>;
  stop(): Promise<void>;
}

export async function startExample(options: ExampleOptions): Promise<RunningExample> {
  const { log } = options;
  const router: Router = await startRouter({ db: options.db, host: LOOPBACK, port: options.routerPort, routerId: 'example' });
  const connection = await Connection.connect({ address: options.temporalAddress });
  const dataConverter = dataConverterFromEnvironment(process.env);
  const client = new Client({ connection, ...(dataConverter ? { dataConverter } : {}) });
  const context: ExampleContext = { client, registry: new PostgresModelRegistry(options.db), routerUrl: router.url, home: options.home, log };
  log(`Router      ${router.url} (driftline serve)`);
  const traffic = startTrafficGenerator(router.url);
  const stop = async () => {
    await traffic.stop();
    await router.close();
    await connection.close();
  };
  try {
    await setUpExample(context);
  } catch (error) {
    await stop();
    throw error;
  }
  log(`Example     traffic generator sending ${EXAMPLE_MODEL} predictions to the router`);
  return {
    routerUrl: router.url,
    context,
    async driftedRunOnce() {
      const marker = join(exampleDir(options.home), 'drifted-run.json');
      if (await access(marker).then(() => true, () => false)) return null;
      const run = await runDriftedBatch(context);
      await writeFile(marker, `${JSON.stringify({ ...run, at: new Date().toISOString() })}\n`);
      return run;
    },
    stop,
  };
}

/** The lines a person needs at the gate: what waits, and the exact commands that approve it. */
export function describeWaitingGate(home: string, run: { pipelineId: string; gateId: string; version: number }): string[] {
  return [
    `Example     drift found: retraining ${run.pipelineId} registered ${EXAMPLE_MODEL} v${run.version} and waits at the compliance gate ${run.gateId}`,
    'Example     approve it as the two demo approvers (four eyes: one ml-lead, one risk), from the project directory:',
    ...approveCommands(home, run.gateId).map((a) => `              ${a.command}`),
    'Example     then the canary shifts traffic step by step; follow it in the Temporal UI or with',
    `              npm run driftline -- status ${run.pipelineId}`,
  ];
}

/** The unattended demo's second half: the demo approvers sign for themselves; returns the outcome. */
export async function approveAndFollow(example: RunningExample, run: { pipelineId: string; gateId: string }, log: (line: string) => void): Promise<PipelineOutcome> {
  for (const approval of approveCommands(example.context.home, run.gateId)) {
    const receipt = await sendDecision(example.context.client, run.gateId, 'approved', { key: approval.keyFile, as: approval.approver, role: approval.role, comment: 'npm run demo: the demo approver signs for itself' });
    log(`Demo        ${approval.approver} (${approval.role}) signed and approved; the gate is ${receipt.gate}`);
  }
  return (await example.context.client.workflow.getHandle(run.pipelineId).result()) as PipelineOutcome;
}

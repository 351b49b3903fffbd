/**
 * `driftline serve`: the local inference router (weighted sticky routing, shadow mirroring,
 * per-request records to the database, Prometheus /metrics), and `driftline serve model`: the
 * built-in model server for the example trainer's model files. Both run until SIGINT or SIGTERM.
 */
import { Command, Option } from 'commander';
import { openDatabase, resolveDatabaseTarget } from '../../activities/db/database.ts';
import { PortInUseError } from '../../activities/net.ts';
import { driftlineHome } from '../lib/home.ts';
import { startModelServer } from '../lib/router/model-server.ts';
import { startRouter } from '../lib/router/router.ts';
import { UsageError } from './errors.ts';
import { print } from './output.ts';

interface RouterFlags {
  host: string;
  port: number;
  routerId: string;
  records: boolean;
  upstreamTimeoutMs: number;
}

interface ModelFlags {
  model?: string;
  host: string;
  port: number;
  faultErrorRate: number;
  faultLatencyMs: number;
}

const number = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${name} must be a number from ${min} to ${max}, got "${value}".`);
  return n;
};

export function serveCommand(): Command {
  const serve = new Command('serve')
    .description(
      'Run the inference router: POST /models/<model>/predict is routed to the baseline or candidate model server by weight, sticky by the ' +
        'x-driftline-key header; canaries set routes through /admin/routes/<model> (token from DRIFTLINE_ROUTER_TOKEN, if set); GET /metrics for Prometheus.',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addOption(new Option('--port <port>', 'port to listen on').default(8480).env('DRIFTLINE_ROUTER_PORT').argParser(number('--port', 0, 65535)))
    .option('--router-id <id>', 'names this router\'s saved routes in the database', 'default')
    .option('--no-records', 'do not write per-request records to the database (canaries then need a Prometheus metrics source)')
    .addOption(new Option('--upstream-timeout-ms <ms>', 'how long to wait for a model server').default(10_000).argParser(number('--upstream-timeout-ms', 1, 600_000)))
    .action(async (flags: RouterFlags) => {
      const database = flags.records ? await openDatabase(resolveDatabaseTarget({ home: driftlineHome() }), { maxConnections: 4 }) : null;
      const router = await startRouter({
        host: flags.host,
        port: flags.port,
        db: database?.db ?? null,
        routerId: flags.routerId,
        ...(process.env.DRIFTLINE_ROUTER_TOKEN ? { adminToken: process.env.DRIFTLINE_ROUTER_TOKEN } : {}),
        upstreamTimeoutMs: flags.upstreamTimeoutMs,
      }).catch(async (error: NodeJS.ErrnoException) => {
        await database?.close();
        if (error.code === 'EADDRINUSE') throw new PortInUseError(flags.port, 'a free port for the router', '--port or DRIFTLINE_ROUTER_PORT');
        throw error;
      });
      print(`router: listening on ${router.url} (routes: ${[...router.routes().keys()].join(', ') || 'none yet'}; records ${database ? `to ${redact(database.url)}` : 'off'})`);
      await untilSignal();
      await router.close();
      await database?.close();
      print('router: stopped');
    });

  serve
    .command('model')
    .description('Serve a model file of the example trainer (model.json, logistic regression): POST /predict {"rows": [{…}]}, GET /healthz.')
    .option('--model <file>', 'the model.json (path or file:// URI)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addOption(new Option('--port <port>', 'port to listen on').default(8481).argParser(number('--port', 0, 65535)))
    .addOption(new Option('--fault-error-rate <share>', 'answer this share of requests with 500 (drills)').default(0).argParser(number('--fault-error-rate', 0, 1)))
    .addOption(new Option('--fault-latency-ms <ms>', 'add this much latency to every answer (drills)').default(0).argParser(number('--fault-latency-ms', 0, 60_000)))
    .action(async (_flags: ModelFlags, command: Command) => {
      const flags = command.optsWithGlobals<ModelFlags>();
      if (!flags.model) throw new UsageError('serve model needs --model <model.json> (see driftline serve model --help).');
      const server = await startModelServer({
        model: flags.model,
        host: flags.host,
        port: flags.port,
        faults: { errorRate: flags.faultErrorRate, extraLatencyMs: flags.faultLatencyMs },
      }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') throw new PortInUseError(flags.port, 'a free port for the model server', '--port');
        if (error.code === 'ENOENT') throw new UsageError(`no model file at ${flags.model}`);
        if (error instanceof Error && /not JSON|not a logistic-regression|do not match/.test(error.message)) throw new UsageError(error.message);
        throw error;
      });
      print(`model server: ${flags.model} (sha256 ${server.sha256.slice(0, 12)}…) on ${server.url}`);
      await untilSignal();
      await server.close();
      print('model server: stopped');
    });
  return serve;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

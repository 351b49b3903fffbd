/**
 * The CLI's connection to Temporal, configured the way every Temporal tool is: TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS files, or a profile in the Temporal config file
 * (@temporalio/envconfig). Defaults to the dev stack on 127.0.0.1:7233. With DRIFTLINE_CODEC_KEYS set,
 * payloads are encrypted and decrypted with the same codec as the workers'.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { dataConverterFromEnvironment } from '../../core/payload-codec.ts';
import { startTracing, tracingConfigured } from '../../workers/tracing.ts';

export class TemporalUnreachable extends Error {
  override readonly name = 'TemporalUnreachable';
}

export async function withTemporalClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  const dataConverter = dataConverterFromEnvironment(process.env);
  const address = connectionOptions.address ?? '127.0.0.1:7233';
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions, address, connectTimeout: '5s' } as Parameters<typeof Connection.connect>[0]);
  } catch (error) {
    throw new TemporalUnreachable(
      `Cannot reach the Temporal server at ${address} (${error instanceof Error ? error.message : String(error)}); start it with \`npm start\` or set TEMPORAL_ADDRESS.`,
    );
  }
  // with OTEL_EXPORTER_OTLP_ENDPOINT set, a pipeline's trace starts here (workers/tracing.ts)
  const tracing = tracingConfigured() ? startTracing('driftline-cli') : undefined;
  try {
    return await fn(
      new Client({ connection, namespace: namespace ?? 'default', ...(dataConverter ? { dataConverter } : {}), interceptors: { workflow: tracing?.clientInterceptors ?? [] } }),
    );
  } finally {
    await tracing?.shutdown();
    await connection.close();
  }
}

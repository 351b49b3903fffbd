/**
 * The HTTP side of the payload codec: POST /encode and /decode for the Temporal UI and CLI, for
 * people who present the token. Used by `driftline codec-server` and by the dev stack, which
 * starts one and points the UI at it when encryption is on.
 */
import { createServer } from 'node:http';
import { handleCodecRequest, type AesGcmPayloadCodec } from '../../core/payload-codec.ts';

export interface CodecServerSettings {
  codec: AesGcmPayloadCodec;
  token: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Browser origins (the Temporal UI) allowed to call it. */
  allowedOrigins: string[];
}

export interface RunningCodecServer {
  readonly port: number;
  /** The endpoint to give the Temporal UI (`--ui-codec-endpoint`): the token travels in the path. */
  readonly uiEndpoint: string;
  close(): Promise<void>;
}

export async function serveCodec(settings: CodecServerSettings): Promise<RunningCodecServer> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
      void handleCodecRequest(
        { method: request.method ?? 'GET', path: request.url ?? '/', headers, body: Buffer.concat(chunks).toString('utf8') },
        { codec: settings.codec, token: settings.token, allowedOrigins: settings.allowedOrigins },
      ).then((reply) => response.writeHead(reply.status, reply.headers).end(reply.body));
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(settings.port, settings.host, () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  return {
    port,
    uiEndpoint: `http://${settings.host}:${port}/t/${settings.token}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

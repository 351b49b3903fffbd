import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP relay on loopback in front of a real server, so a test can take the network away: `cut()`
 * drops every open connection and refuses new ones until `restore()`. The server behind it keeps
 * running, as it does when a network, a load balancer or a proxy fails.
 */
export interface TcpRelay {
  readonly port: number;
  readonly address: string;
  /** Destroys every open connection; with `refuse`, new ones are closed at once until `restore()`. */
  cut(options?: { refuse?: boolean }): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    cut(options = {}) {
      refusing = options.refuse ?? false;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      refusing = false;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

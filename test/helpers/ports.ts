import { createServer } from 'node:net';

/**
 * A TCP port on loopback that was free a moment ago, taken from below Linux's ephemeral range
 * (32768–60999). Ports handed out by the kernel (`listen(0)`) are exactly the ones the Temporal dev
 * server and every client socket also get, so a port picked that way could be taken again between
 * the pick and the use; one picked below the range only collides with another explicit pick.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(candidate)) return candidate;
  }
  throw new Error('no free port between 20000 and 32000 after 50 attempts');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

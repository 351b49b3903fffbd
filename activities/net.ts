import { connect } from 'node:net';

/** True when something accepts TCP connections on host:port within the timeout. */
export function isPortListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Raised when a port we want is held by a process that is not the service we expected there. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly port: number,
    readonly service: string,
    readonly howToChange: string,
  ) {
    super(
      `Port ${port} is already in use by something that is not ${service}; stop that process, or choose another port with ${howToChange}.`,
    );
  }
}

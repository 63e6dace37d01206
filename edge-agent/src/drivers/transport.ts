import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';

/** An open byte stream to a device: a serial port (or pty), or `tcp://host:port` (simulator, ser2net). */
export interface Transport {
  stream: Duplex;
  close(): Promise<void>;
}

export async function openTransport(path: string, baudRate: number): Promise<Transport> {
  if (path.startsWith('tcp://')) {
    const url = new URL(path);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    return {
      stream: socket,
      close: () => new Promise((resolve) => socket.end(() => resolve())),
    };
  }
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  return {
    stream: port,
    close: () =>
      new Promise((resolve) => {
        if (!port.isOpen) return resolve();
        // A close error means the port is already gone (unplugged): nothing left to release.
        port.close(() => resolve());
      }),
  };
}

import { constants, openSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import tty from 'node:tty';
import { SerialPort } from 'serialport';

/** An open byte stream to a device: a serial port, a pseudo-terminal, or `tcp://host:port`. */
export interface Transport {
  stream: Duplex;
  /** `serial`: opened by serialport, which flushes whatever the tty held (line set up anew). */
  kind: 'serial' | 'pty' | 'tcp';
  close(): Promise<void>;
}

export async function openTransport(path: string, baudRate: number): Promise<Transport> {
  if (path.startsWith('tcp://')) return openTcp(path);
  if (await isPseudoTerminal(path)) return openPty(path);
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  return {
    stream: port,
    kind: 'serial',
    close: () =>
      new Promise((resolve) => {
        if (!port.isOpen) return resolve();
        // A close error means the port is already gone (unplugged): nothing left to release.
        port.close(() => resolve());
      }),
  };
}

async function isPseudoTerminal(path: string): Promise<boolean> {
  try {
    return (await realpath(path)).startsWith('/dev/pts/');
  } catch {
    return false; // missing: serialport's open reports it
  }
}

/**
 * A pseudo-terminal (the simulator, a socat bridge to a remote serial line) is opened without
 * serialport: its open flushes the tty (tcflush), which would throw away what the shelf sent
 * while the agent was restarting. A pty has no line settings to apply; raw mode is set with
 * TCSADRAIN, which keeps the input queue.
 */
function openPty(path: string): Transport {
  const fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  const stream = new tty.ReadStream(fd, { writable: true });
  stream.setRawMode(true);
  return {
    stream,
    kind: 'pty',
    close: () =>
      new Promise((resolve) => {
        if (stream.destroyed) return resolve();
        stream.once('close', () => resolve());
        stream.destroy();
      }),
  };
}

async function openTcp(path: string): Promise<Transport> {
  const url = new URL(path);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  return {
    stream: socket,
    kind: 'tcp',
    close: () =>
      new Promise((resolve) => {
        if (socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        // `end()` alone only half-closes: a shelf that says nothing keeps the read side (and the
        // process) open, and what it sends later would reach an agent that closed its outbox.
        // Flush what we wrote, then close both directions; a peer that never reads gets 1 s.
        socket.end(() => socket.destroy());
        setTimeout(() => socket.destroy(), 1000).unref();
      }),
  };
}

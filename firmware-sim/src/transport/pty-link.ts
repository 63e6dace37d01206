import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SerialPort } from 'serialport';
import { type DeviceLink, MAX_TX_BACKLOG } from './link.js';
import { type SocatPair, startSocatPair } from './socat.js';

/**
 * A shelf on a pseudo-terminal: socat makes a pty pair; the simulator opens `devicePath`, the
 * host opens `path`. Unplugging kills socat, so the host's port vanishes exactly like a USB
 * serial device does; plugging starts it again on the same paths.
 */
export class PtyLink implements DeviceLink {
  private pair: SocatPair | undefined;
  private port: SerialPort | undefined;
  private dataHandler: (chunk: Uint8Array) => void = () => undefined;
  private errorHandler: (error: Error) => void = () => undefined;
  private closing = false;

  constructor(
    readonly path: string,
    readonly devicePath: string,
  ) {}

  get plugged(): boolean {
    return this.port?.isOpen === true;
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.dataHandler = handler;
  }

  onError(handler: (error: Error) => void): void {
    this.errorHandler = handler;
  }

  async plug(): Promise<void> {
    if (this.pair) return;
    await mkdir(dirname(this.path), { recursive: true });
    await mkdir(dirname(this.devicePath), { recursive: true });
    const pair = await startSocatPair(this.devicePath, this.path);
    this.pair = pair;
    this.closing = false;
    const port = new SerialPort({ path: this.devicePath, baudRate: 115200, autoOpen: false });
    try {
      await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    } catch (error) {
      this.pair = undefined;
      await pair.stop();
      throw error;
    }
    this.port = port;
    port.on('data', (chunk: Buffer) => this.dataHandler(chunk));
    port.on('error', (error: Error) => {
      if (!this.closing) this.errorHandler(error);
    });
    void pair.exited.then(() => {
      if (!this.closing && this.pair === pair) this.errorHandler(new Error(`socat for ${this.path} exited`));
    });
  }

  write(bytes: Uint8Array): boolean {
    const port = this.port;
    if (!port?.isOpen) return false;
    // Nobody reading on the host side: the pty fills up; drop like a UART with a full FIFO.
    if (port.writableLength > MAX_TX_BACKLOG) return false;
    port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return true;
  }

  async unplug(): Promise<void> {
    this.closing = true;
    const port = this.port;
    const pair = this.pair;
    this.port = undefined;
    this.pair = undefined;
    if (port?.isOpen) {
      // Queued bytes would be written into a vanishing pty; the cable is gone.
      await new Promise<void>((resolve) => port.close(() => resolve()));
    }
    await pair?.stop();
  }

  close(): Promise<void> {
    return this.unplug();
  }
}

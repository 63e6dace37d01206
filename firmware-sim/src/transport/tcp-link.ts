import { createServer, type Server, type Socket } from 'node:net';
import { type DeviceLink, MAX_TX_BACKLOG } from './link.js';

/**
 * A shelf on TCP (a serial-to-Ethernet bridge). One host at a time: a new connection replaces
 * the old one, as a bridge would. Unplugging closes the listener and every connection; plugging
 * listens again on the same port so the address stays stable.
 */
export class TcpLink implements DeviceLink {
  private server: Server | undefined;
  private socket: Socket | undefined;
  private port: number;
  private dataHandler: (chunk: Uint8Array) => void = () => undefined;

  constructor(
    private readonly host: string,
    port = 0,
  ) {
    this.port = port;
  }

  get path(): string {
    return `tcp://${this.host}:${this.port}`;
  }

  get plugged(): boolean {
    return this.server?.listening === true;
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.dataHandler = handler;
  }

  onError(): void {
    // Socket errors are a host going away; the link itself stays up, so nothing to report.
  }

  async plug(): Promise<void> {
    if (this.server) return;
    const server = createServer((socket) => {
      this.socket?.destroy();
      this.socket = socket;
      socket.setNoDelay(true);
      socket.on('data', (chunk) => this.dataHandler(chunk));
      socket.on('error', () => socket.destroy()); // the host vanished; wait for the next one
      socket.on('close', () => {
        if (this.socket === socket) this.socket = undefined;
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.server = server;
  }

  write(bytes: Uint8Array): boolean {
    const s = this.socket;
    if (!s || s.destroyed || s.writableLength > MAX_TX_BACKLOG) return false;
    s.write(bytes);
    return true;
  }

  async unplug(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.unplug();
  }
}

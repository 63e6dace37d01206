import { existsSync } from 'node:fs';
import { type DecodedFrame, encodeFrame, FrameDecoder, type ShelfMessage } from '@bitv/shared/shelf-link';
import { eventually } from '@bitv/shared/testing';
import { SerialPort } from 'serialport';

/** The host end of a simulated shelf's pty, opened the way the edge agent would. */
export class PtyHost {
  readonly decoder = new FrameDecoder();
  readonly frames: DecodedFrame[] = [];
  closed = false;
  private seq = 0;

  private readonly watch: NodeJS.Timeout;

  private constructor(
    readonly port: SerialPort,
    path: string,
  ) {
    port.on('data', (chunk: Buffer) => this.frames.push(...this.decoder.push(chunk)));
    port.on('close', () => {
      this.closed = true;
      clearInterval(this.watch);
    });
    port.on('error', () => undefined); // an unplug shows up as error + close; close is asserted
    // A hung-up pty can read as end-of-file, which serialport 13 retries forever instead of
    // reporting; the device node vanishing is the reliable unplug signal (as for USB serial).
    this.watch = setInterval(() => {
      if (!existsSync(path)) void this.close();
    }, 100);
  }

  static async open(path: string): Promise<PtyHost> {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    return new PtyHost(port, path);
  }

  send(message: ShelfMessage): number {
    const seq = this.seq++;
    this.port.write(Buffer.from(encodeFrame(message, seq)));
    return seq;
  }

  waitFor(match: (m: ShelfMessage) => boolean, what: string, from = 0): Promise<ShelfMessage> {
    return eventually(
      () => this.frames.slice(from).find((f) => match(f.message))?.message,
      what,
      10_000,
      10,
    ).then((m) => m!);
  }

  async close(): Promise<void> {
    clearInterval(this.watch);
    if (this.port.isOpen) await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}

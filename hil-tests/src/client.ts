import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { TimeoutError, UnavailableError } from '@bitv/shared';
import {
  type AckMessage,
  type Command,
  type CommandOp,
  commandTimeoutMs,
  type DecodedFrame,
  encodeFrame,
  FrameDecoder,
  type HelloMessage,
  type NackMessage,
  type ShelfMessage,
} from '@bitv/shared/shelf-link';
import { SerialPort } from 'serialport';

/** Bytes to the device and a way to learn about bytes and closing. */
interface Wire {
  write(bytes: Uint8Array): void;
  close(): Promise<void>;
}

interface Waiter {
  match(frame: DecodedFrame): boolean;
  resolve(frame: DecodedFrame): void;
}

export interface ShelfLinkClientOptions {
  /** A serial device / pty path, or `tcp://host:port`. */
  path: string;
  baudRate?: number;
  /** Frames kept for inspection (oldest dropped first). */
  keepFrames?: number;
  /** Multiplies the spec's command timeouts (a simulator sharing a loaded CPU needs slack). */
  timeoutScale?: number;
}

/**
 * A small host side of the shelf link for tests and tools: opens a port, decodes what arrives
 * with the shared codec, sends commands and waits for their ACK/NACK. One instance per open.
 */
export class ShelfLinkClient {
  readonly decoder = new FrameDecoder();
  /** Received frames, oldest first (bounded by `keepFrames`). */
  readonly frames: DecodedFrame[] = [];
  /** Resolves when the port closes or disconnects (e.g. the device was unplugged). */
  readonly closed: Promise<void>;
  private markClosed!: () => void;
  private isClosed = false;
  private seq = 0;
  private waiters = new Set<Waiter>();
  private wire: Wire | undefined;
  private readonly keep: number;

  private readonly timeoutScale: number;

  private constructor(keepFrames: number, timeoutScale: number) {
    this.keep = keepFrames;
    this.timeoutScale = timeoutScale;
    this.closed = new Promise((resolve) => {
      this.markClosed = () => {
        this.isClosed = true;
        resolve();
      };
    });
  }

  static async open(options: ShelfLinkClientOptions): Promise<ShelfLinkClient> {
    const client = new ShelfLinkClient(options.keepFrames ?? 20_000, options.timeoutScale ?? 1);
    const onData = (chunk: Uint8Array) => client.onData(chunk);
    const onClose = () => client.markClosed();
    client.wire = options.path.startsWith('tcp://')
      ? await openTcp(options.path, onData, onClose)
      : await openSerial(options.path, options.baudRate ?? 115_200, onData, onClose);
    // [SL-FRAME-5] a delimiter first, so a half-written frame from a previous host is ended.
    client.wire.write(Uint8Array.of(0));
    return client;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  private onData(chunk: Uint8Array): void {
    for (const f of this.decoder.push(chunk)) {
      this.frames.push(f);
      if (this.frames.length > this.keep) this.frames.shift();
      for (const w of this.waiters) {
        if (w.match(f)) {
          this.waiters.delete(w);
          w.resolve(f);
        }
      }
    }
  }

  /** Writes bytes as they are (garbage tests, hand-built frames). */
  sendRaw(bytes: Uint8Array): void {
    if (!this.wire || this.isClosed) throw new UnavailableError('shelf link is closed');
    this.wire.write(bytes);
  }

  /** The sequence number the next frame will carry. */
  nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    return s;
  }

  send(message: ShelfMessage): number {
    const seq = this.nextSeq();
    this.sendRaw(encodeFrame(message, seq));
    return seq;
  }

  /**
   * Waits for the first frame from now on that `match`es. `match` sees every frame in order, so
   * it may keep state (count, average) across frames.
   */
  next(match: (frame: DecodedFrame) => boolean, timeoutMs: number, what = 'frame'): Promise<DecodedFrame> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new TimeoutError(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  nextMessage<T extends ShelfMessage['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<ShelfMessage, { type: T }>> {
    return this.next((f) => f.message.type === type, timeoutMs, type).then(
      (f) => f.message as Extract<ShelfMessage, { type: T }>,
    );
  }

  /** Sends a command; resolves with its ACK or NACK, or rejects after the spec's timeout [SL-CMD-2]. */
  /** How long this client waits for the answer to `op` (the spec's timeout, scaled). */
  timeoutFor(op: CommandOp): number {
    return commandTimeoutMs[op] * this.timeoutScale;
  }

  async command(
    command: Command,
    timeoutMs = this.timeoutFor(command.op),
  ): Promise<AckMessage | NackMessage> {
    const seq = this.nextSeq();
    const answer = this.next(
      (f) => (f.message.type === 'ack' || f.message.type === 'nack') && f.message.commandSeq === seq,
      timeoutMs,
      `answer to ${command.op} (seq ${seq})`,
    );
    this.sendRaw(encodeFrame({ type: 'command', command }, seq));
    return (await answer).message as AckMessage | NackMessage;
  }

  /**
   * A HELLO: asks with `request_hello` every 500 ms until one arrives (from the request or from
   * a boot), since a controller that is still booting answers nothing [SL-HELLO-3].
   */
  async hello(timeoutMs = 5000 * this.timeoutScale): Promise<HelloMessage> {
    const hello = this.nextMessage('hello', timeoutMs);
    let done = false;
    const ask = async () => {
      const deadline = Date.now() + timeoutMs;
      while (!done && Date.now() < deadline) {
        const answer = await this.command({ op: 'request_hello' }, 500 * this.timeoutScale).catch(
          () => undefined,
        ); // retried
        if (answer?.type === 'nack') throw new UnavailableError(`request_hello refused: ${answer.reason}`);
        if (answer) return;
      }
    };
    const asking = ask();
    try {
      // The HELLO may come from a boot before any request is answered: whichever is first.
      return await Promise.race([hello, asking.then(() => hello)]);
    } finally {
      done = true;
      asking.catch(() => undefined); // a late refusal after the HELLO arrived changes nothing
    }
  }

  /**
   * The next `n` frames that `match`, in order. One waiter sees every frame (several can arrive
   * in one chunk), so none is skipped between them.
   */
  async take(
    n: number,
    match: (frame: DecodedFrame) => boolean,
    timeoutMs: number,
    what = 'frames',
  ): Promise<DecodedFrame[]> {
    const out: DecodedFrame[] = [];
    await this.next(
      (f) => {
        if (match(f)) out.push(f);
        return out.length >= n;
      },
      timeoutMs,
      `${n} ${what}`,
    );
    return out;
  }

  /** The next `n` READINGS frames. */
  readings(n: number, timeoutMs: number): Promise<DecodedFrame[]> {
    return this.take(n, (f) => f.message.type === 'readings', timeoutMs, 'readings');
  }

  async close(): Promise<void> {
    for (const w of this.waiters) this.waiters.delete(w);
    if (!this.isClosed) await this.wire?.close();
    this.markClosed();
  }
}

async function openSerial(
  path: string,
  baudRate: number,
  onData: (chunk: Uint8Array) => void,
  onClose: () => void,
): Promise<Wire> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((e) =>
      e ? reject(new UnavailableError(`cannot open ${path}: ${e.message}`, { cause: e })) : resolve(),
    ),
  );
  const close = () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
  // A hung-up pty (and some USB adapters) can read as end-of-file, which serialport 13 retries
  // forever instead of reporting; the device node vanishing is the reliable unplug signal.
  const watch = setInterval(() => {
    if (!existsSync(path)) void close();
  }, 100);
  port.on('data', (chunk: Buffer) => onData(chunk));
  port.on('close', () => {
    clearInterval(watch);
    onClose();
  });
  // An unplugged device surfaces as an error and then a close; the close is what we report.
  port.on('error', () => undefined);
  return {
    write: (bytes) => void port.write(Buffer.from(bytes)),
    close: () => {
      clearInterval(watch);
      return close();
    },
  };
}

async function openTcp(url: string, onData: (chunk: Uint8Array) => void, onClose: () => void): Promise<Wire> {
  const { hostname, port } = new URL(url);
  const socket = new Socket();
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (e) =>
      reject(new UnavailableError(`cannot connect to ${url}: ${e.message}`, { cause: e })),
    );
    socket.connect(Number(port), hostname, () => resolve());
  });
  socket.setNoDelay(true);
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', () => undefined); // followed by 'close', which is what we report
  return {
    write: (bytes) => void socket.write(bytes),
    close: () =>
      new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end();
        setTimeout(() => socket.destroy(), 500).unref();
      }),
  };
}

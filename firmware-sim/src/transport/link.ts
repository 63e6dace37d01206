/**
 * The device end of a shelf's connection (a pseudo-terminal pair or a TCP listener). `plug` makes
 * the port appear to the host, `unplug` makes it vanish, as pulling the USB cable would.
 */
export interface DeviceLink {
  /** What the host opens: a pty path, or `tcp://host:port`. */
  readonly path: string;
  readonly plugged: boolean;
  plug(): Promise<void>;
  unplug(): Promise<void>;
  /** Returns false when the bytes were dropped because the host is not reading. */
  write(bytes: Uint8Array): boolean;
  onData(handler: (chunk: Uint8Array) => void): void;
  /** Called when the link breaks on its own (socat died, I/O error). */
  onError(handler: (error: Error) => void): void;
  close(): Promise<void>;
}

/** Bytes allowed to queue towards a host that is not reading before frames are dropped. */
export const MAX_TX_BACKLOG = 64 * 1024;

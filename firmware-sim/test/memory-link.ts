import { type DecodedFrame, FrameDecoder } from '@bitv/shared/shelf-link';
import type { DeviceLink } from '../src/transport/link.js';

/** An in-memory link: the test reads what the shelf sends, decoded, and can plug/unplug it. */
export class MemoryLink implements DeviceLink {
  readonly path = 'memory://shelf';
  plugged = false;
  readonly decoder = new FrameDecoder();
  readonly frames: DecodedFrame[] = [];
  readonly bytes: Uint8Array[] = [];
  plugs = 0;
  private handler: (chunk: Uint8Array) => void = () => undefined;

  async plug(): Promise<void> {
    this.plugged = true;
    this.plugs++;
  }

  async unplug(): Promise<void> {
    this.plugged = false;
  }

  write(bytes: Uint8Array): boolean {
    if (!this.plugged) return false;
    this.bytes.push(bytes);
    this.frames.push(...this.decoder.push(bytes));
    return true;
  }

  /** Bytes from the host side. */
  hostSends(chunk: Uint8Array): void {
    this.handler(chunk);
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.handler = handler;
  }

  onError(): void {
    // memory links do not break on their own
  }

  async close(): Promise<void> {
    this.plugged = false;
  }
}

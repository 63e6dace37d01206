/**
 * Follows the MQTT fixed headers in a byte stream without parsing packets, so a client announcing
 * a packet above the limit is cut off before the broker buffers it (MQTT 3.1.1 allows 256 MB).
 * Fixed header: one type byte, then the Remaining Length as 1..4 bytes of 7 bits, least significant
 * first, high bit = continuation (section 2.2.3).
 */
export class PacketSizeGuard {
  #state: 'type' | 'length' | 'body' = 'type';
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  constructor(readonly maxPacketBytes: number) {}

  /** Feeds bytes read from the client; returns a reason when the stream must be closed. */
  push(chunk: Buffer): 'oversized' | 'malformed' | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'body') {
        const take = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= take;
        i += take;
        if (this.#remaining === 0) this.#state = 'type';
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#state === 'type') {
        this.#state = 'length';
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        continue;
      }
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      if (byte & 0x80) {
        // [MQTT-2.2.3] at most four bytes of Remaining Length
        if (this.#lengthBytes >= 4) return 'malformed';
        continue;
      }
      // the whole packet: type byte + length bytes + remaining length
      if (1 + this.#lengthBytes + this.#length > this.maxPacketBytes) return 'oversized';
      this.#remaining = this.#length;
      this.#state = this.#remaining === 0 ? 'type' : 'body';
    }
    return undefined;
  }
}

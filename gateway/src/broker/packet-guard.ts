import {
  checkConnect,
  checkPublishTopic,
  checkSubscriptions,
  packetType,
  type WireProblem,
} from './wire-rules.js';

export type PacketProblem = 'oversized' | WireProblem;

/**
 * Follows the MQTT fixed headers in a byte stream without parsing packets, so a client announcing
 * a packet above the limit is cut off before the broker buffers it (MQTT 3.1.1 allows 256 MB).
 * Fixed header: one type byte, then the Remaining Length as 1..4 bytes of 7 bits, least significant
 * first, high bit = continuation (section 2.2.3).
 *
 * It also keeps the start of the packets whose strings must be checked as bytes (wire-rules.ts):
 * the whole of CONNECT, SUBSCRIBE and UNSUBSCRIBE (small, and within the size limit), only the
 * topic of a PUBLISH.
 */
export class PacketSizeGuard {
  #state: 'type' | 'length' | 'body' = 'type';
  #type = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;
  /** Bytes of the body to keep for a check, and those kept so far. */
  #need = 0;
  #head: Buffer[] = [];
  #headBytes = 0;

  constructor(readonly maxPacketBytes: number) {}

  /** Feeds bytes read from the client; returns a reason when the stream must be closed. */
  push(chunk: Buffer): PacketProblem | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'body') {
        while (this.#headBytes < this.#need && i < chunk.length) {
          const n = Math.min(this.#need - this.#headBytes, chunk.length - i);
          this.#head.push(chunk.subarray(i, i + n));
          this.#headBytes += n;
          this.#remaining -= n;
          i += n;
          if (this.#headBytes === this.#need) {
            const problem = this.#check();
            if (problem) return problem;
          }
        }
        const take = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= take;
        i += take;
        if (this.#remaining === 0) this.#state = 'type';
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#state === 'type') {
        this.#state = 'length';
        this.#type = byte >> 4;
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
      this.#head = [];
      this.#headBytes = 0;
      this.#need = this.#needed();
      if (this.#need > 0 && this.#type === packetType.publish) {
        // the usual case, a PUBLISH topic whole in this chunk: checked in place, nothing kept
        const end = i + 2 <= chunk.length ? 2 + chunk.readUInt16BE(i) : Number.POSITIVE_INFINITY;
        if (end <= this.#length && i + end <= chunk.length) {
          const problem = checkPublishTopic(chunk.subarray(i + 2, i + end));
          if (problem) return problem;
          this.#need = 0;
        }
      }
      if (this.#need === 0 && this.#checked()) {
        const problem = this.#check();
        if (problem) return problem;
      }
      this.#state = this.#remaining === 0 ? 'type' : 'body';
    }
    return undefined;
  }

  #checked(): boolean {
    const t = this.#type;
    return t === packetType.connect || t === packetType.subscribe || t === packetType.unsubscribe;
  }

  /** How much of the body the first check needs. */
  #needed(): number {
    if (this.#type === packetType.publish) return Math.min(2, this.#length);
    return this.#checked() ? this.#length : 0;
  }

  /** Runs once `#need` bytes are kept; a PUBLISH asks for its topic after its topic's length. */
  #check(): PacketProblem | undefined {
    const body = this.#head.length === 1 ? this.#head[0]! : Buffer.concat(this.#head);
    this.#head = [body];
    switch (this.#type) {
      case packetType.connect:
        return this.#done(checkConnect(body));
      case packetType.subscribe:
        return this.#done(checkSubscriptions(body, true));
      case packetType.unsubscribe:
        return this.#done(checkSubscriptions(body, false));
      case packetType.publish: {
        if (body.length < 2) return this.#done(undefined); // cut short: mqtt-packet refuses it
        const end = 2 + body.readUInt16BE(0);
        if (end > this.#length) return this.#done(undefined);
        if (this.#need < end) {
          this.#need = end;
          return undefined;
        }
        return this.#done(checkPublishTopic(body.subarray(2, end)));
      }
      default:
        return this.#done(undefined);
    }
  }

  #done(problem: PacketProblem | undefined): PacketProblem | undefined {
    this.#need = 0;
    this.#head = [];
    this.#headBytes = 0;
    return problem;
  }
}

/**
 * Sparkplug message sequence numbers: NBIRTH carries 0 [tck-id-payloads-nbirth-seq], each later
 * message of the edge node (node or device) carries the previous value plus one, and 255 is
 * followed by 0 [tck-id-payloads-sequence-num-incrementing].
 */
export const seqModulus = 256;

export function nextSeq(seq: number): number {
  return (seq + 1) % seqModulus;
}

/** How many messages were skipped between two consecutive received sequence numbers (0 = none). */
export function seqGap(previous: number, current: number): number {
  return (current - previous - 1 + seqModulus) % seqModulus;
}

/** The counter one edge-node session uses: `birth()` for NBIRTH (0), `next()` for everything after. */
export class SeqCounter {
  #value = 0;

  birth(): number {
    this.#value = 0;
    return 0;
  }

  next(): number {
    this.#value = nextSeq(this.#value);
    return this.#value;
  }

  get current(): number {
    return this.#value;
  }
}

/**
 * Birth/death sequence: one value per MQTT session, carried by the NDEATH will registered at
 * CONNECT and by the NBIRTH of that session [tck-id-topics-nbirth-bdseq-matching]; it increases by
 * one per new connection and wraps like `seq` (0..255). The edge agent persists it so a restart
 * never reuses the value of the session whose will may still be pending at the broker.
 */
export function nextBdSeq(bdSeq: number): number {
  return (bdSeq + 1) % seqModulus;
}

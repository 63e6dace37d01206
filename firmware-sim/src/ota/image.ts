import { createHash } from 'node:crypto';

/**
 * What a simulated controller image is: a header the simulated bootloader reads, then filler to
 * the image's size. The header says the version and how its self-test ends, so CI can ship a
 * deliberately bad image (`selfTest: 'fail'`) that installs fine and then fails its health check,
 * and an unbootable one (bad magic) that never starts.
 *
 * ```
 * "BVSIMFW1" | u32 LE header length | header JSON | filler (SHA-256 counter stream)
 * ```
 */
export interface SimImageHeader {
  version: string;
  selfTest: 'pass' | 'fail';
}

const MAGIC = Buffer.from('BVSIMFW1');

export function buildSimImage(header: SimImageHeader, size = 64 * 1024): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.concat([MAGIC, Buffer.alloc(4), json]);
  head.writeUInt32LE(json.length, MAGIC.length);
  if (size < head.length)
    throw new RangeError(`image of ${size} bytes cannot hold its ${head.length}-byte header`);
  const out = Buffer.alloc(size);
  head.copy(out);
  // Filler that depends on the header, so two versions differ in every block (as real builds do).
  let block = createHash('sha256').update(json).digest();
  for (let at = head.length; at < size; at += block.length) {
    block = createHash('sha256').update(block).digest();
    block.copy(out, at, 0, Math.min(block.length, size - at));
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** The header of a bootable image, or undefined when the bootloader would not start it. */
export function readSimImage(image: Uint8Array): SimImageHeader | undefined {
  const b = Buffer.from(image.buffer, image.byteOffset, image.length);
  if (b.length < MAGIC.length + 4 || !b.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const n = b.readUInt32LE(MAGIC.length);
  try {
    const h = JSON.parse(
      b.subarray(MAGIC.length + 4, MAGIC.length + 4 + n).toString('utf8'),
    ) as Partial<SimImageHeader>;
    if (typeof h.version !== 'string' || (h.selfTest !== 'pass' && h.selfTest !== 'fail')) return undefined;
    return { version: h.version, selfTest: h.selfTest };
  } catch {
    return undefined; // an unreadable header is an image that does not boot
  }
}

import type { ObjectStore } from './port.js';

export interface CopyProgress {
  key: string;
  size: number;
  index: number;
  total: number;
  skipped: boolean;
}

/**
 * Copies every object under `prefix` from one store to another (moving firmware artifacts from
 * the folder store to S3 and back). An object already at the target with the same size is left
 * alone, so an interrupted copy is resumed by running it again.
 */
export async function copyObjects(
  from: ObjectStore,
  to: ObjectStore,
  options: { prefix?: string; onProgress?: (p: CopyProgress) => void } = {},
): Promise<{ copied: number; skipped: number; bytes: number }> {
  const objects = await from.list(options.prefix ?? '');
  let copied = 0;
  let skipped = 0;
  let bytes = 0;
  for (const [index, o] of objects.entries()) {
    const existing = await to.stat(o.key);
    const skip = existing !== undefined && existing.size === o.size;
    if (!skip) {
      await to.put(o.key, await from.get(o.key));
      copied++;
      bytes += o.size;
    } else skipped++;
    options.onProgress?.({ key: o.key, size: o.size, index, total: objects.length, skipped: skip });
  }
  return { copied, skipped, bytes };
}

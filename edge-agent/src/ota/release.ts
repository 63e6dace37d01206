import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  artifactKeys,
  type FirmwareManifest,
  type FirmwareTarget,
  type TrustedKeys,
  verifyImage,
} from '@bitv/shared/firmware';
import type { ObjectStore } from '@bitv/shared/object-store';
import { retry } from '@bitv/shared/retry';

export interface Release {
  manifest: FirmwareManifest;
  image: Uint8Array;
  /** The verified image on disk. */
  path: string;
}

export interface FetchOptions {
  /** Bytes per ranged GET; a cut download resumes from the last whole range written. */
  rangeBytes: number;
  retries: number;
  onProgress?: (p: { received: number; size: number; resumedFrom: number }) => void;
}

export const defaultFetchOptions: FetchOptions = { rangeBytes: 256 * 1024, retries: 5 };

/**
 * Downloads a release into `dir` and proves it before anyone may use it: the manifest's signature
 * against the trusted release keys first (nothing is downloaded for a manifest we would refuse),
 * then the image's size and SHA-256. A download cut off resumes where its `.part` file ends.
 * Throws `FirmwareRejectedError` for a release that must not be installed (the `.part` is
 * deleted: a tampered byte must not survive into the next attempt).
 */
export async function fetchRelease(
  store: ObjectStore,
  keys: TrustedKeys,
  target: FirmwareTarget,
  version: string,
  dir: string,
  options: Partial<FetchOptions> = {},
): Promise<Release> {
  const o = { ...defaultFetchOptions, ...options };
  const keysOf = artifactKeys(target, version);
  const withRetry = <T>(fn: () => Promise<T>) =>
    retry(fn, { retries: o.retries, initialDelayMs: 200, maxDelayMs: 5_000 });
  const manifest = keys.verifyManifest(await withRetry(() => store.get(keysOf.manifest)), target);
  const final = join(dir, `${target}-${manifest.version}-${manifest.sha256.slice(0, 12)}.bin`);
  const part = `${final}.part`;
  const done = await stat(final).catch(() => undefined);
  if (done?.size === manifest.size) {
    const image = await readFile(final);
    verifyImage(manifest, image);
    return { manifest, image, path: final };
  }
  let received = (await stat(part).catch(() => undefined))?.size ?? 0;
  if (received > manifest.size) {
    await rm(part, { force: true });
    received = 0;
  }
  const resumedFrom = received;
  const file = await open(part, 'a');
  try {
    while (received < manifest.size) {
      const length = Math.min(o.rangeBytes, manifest.size - received);
      const bytes = await withRetry(() => store.get(keysOf.image, { offset: received, length }));
      if (bytes.length === 0) break; // the stored object is shorter than its manifest: caught below
      await file.write(bytes);
      received += bytes.length;
      o.onProgress?.({ received, size: manifest.size, resumedFrom });
    }
    await file.sync();
  } finally {
    await file.close();
  }
  const image = await readFile(part);
  try {
    verifyImage(manifest, image);
  } catch (error) {
    await rm(part, { force: true });
    throw error;
  }
  await rename(part, final);
  return { manifest, image, path: final };
}

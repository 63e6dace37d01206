import { z } from 'zod';

/** What an image is for: the shelf controller's firmware or the edge agent's own bundle. */
export const firmwareTargets = ['shelf-controller', 'edge-agent'] as const;
export type FirmwareTarget = (typeof firmwareTargets)[number];

/** Versions are dotted numbers (`2.0.0`, `2.0.1-bad` is refused), ASCII, at most 16 chars (HELLO's field). */
export const FIRMWARE_VERSION_PATTERN = /^\d{1,4}\.\d{1,4}\.\d{1,4}(?:-[A-Za-z0-9.]{1,6})?$/;

export const manifestSchema = z.object({
  format: z.literal('bitv-firmware-manifest/1'),
  target: z.enum(firmwareTargets),
  version: z.string().max(16).regex(FIRMWARE_VERSION_PATTERN),
  size: z
    .number()
    .int()
    .min(1)
    .max(64 * 1024 * 1024),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  /** Ed25519 over `signedBytes(manifest)`, base64. */
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/),
  createdAt: z.iso.datetime(),
});
export type FirmwareManifest = z.infer<typeof manifestSchema>;

/**
 * The bytes the release key signs: every field that decides what a device runs, one per line,
 * in a fixed order, so no JSON canonicalisation is needed and no field can be swapped unsigned.
 */
export function signedBytes(
  m: Pick<FirmwareManifest, 'target' | 'version' | 'size' | 'sha256' | 'keyId'>,
): Buffer {
  return Buffer.from(
    `bitv-firmware-manifest/1\n${m.target}\n${m.version}\n${m.size}\n${m.sha256}\n${m.keyId}\n`,
  );
}

/** Object-store keys of a release: `<target>/<version>/image.bin` and `manifest.json`. */
export function artifactKeys(target: FirmwareTarget, version: string): { image: string; manifest: string } {
  return { image: `${target}/${version}/image.bin`, manifest: `${target}/${version}/manifest.json` };
}

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { BitvError, ValidationError } from '../errors/index.js';
import { type FirmwareManifest, type FirmwareTarget, manifestSchema, signedBytes } from './manifest.js';

/** A manifest or image that must not be installed; never retriable. */
export class FirmwareRejectedError extends BitvError {
  constructor(
    readonly reason: 'malformed' | 'unknown_key' | 'bad_signature' | 'size' | 'digest' | 'target',
    message: string,
  ) {
    super('firmware_rejected', message, { retriable: false, details: { reason } });
  }
}

export interface ReleaseKeyPair {
  /** PKCS#8 PEM: stays with the release engineer, never on a gateway or device. */
  privateKeyPem: string;
  /** SPKI PEM: configured on agents (`BV_FIRMWARE_PUBLIC_KEYS`). */
  publicKeyPem: string;
  keyId: string;
}

export function generateReleaseKey(): ReleaseKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

/** First 8 bytes of SHA-256 over the SPKI DER, hex: names the key in manifests. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function ed25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new ValidationError(`${what} is not an Ed25519 key`);
  return key;
}

export function signImage(
  image: Uint8Array,
  options: { privateKeyPem: string; target: FirmwareTarget; version: string; now?: Date },
): FirmwareManifest {
  const privateKey = ed25519(createPrivateKey(options.privateKeyPem), 'release key');
  const keyId = keyIdOf(createPublicKey(privateKey));
  const unsigned = {
    target: options.target,
    version: options.version,
    size: image.length,
    sha256: sha256Hex(image),
    keyId,
  };
  const manifest = {
    format: 'bitv-firmware-manifest/1' as const,
    ...unsigned,
    signature: sign(null, signedBytes(unsigned), privateKey).toString('base64'),
    createdAt: (options.now ?? new Date()).toISOString(),
  };
  // Refuses what a device would refuse (a version HELLO cannot carry, an empty image).
  const checked = manifestSchema.safeParse(manifest);
  if (!checked.success)
    throw new ValidationError(`manifest: ${checked.error.issues.map((i) => i.message).join('; ')}`);
  return checked.data;
}

/** The public keys an agent trusts, by key id. */
export class TrustedKeys {
  private readonly byId = new Map<string, KeyObject>();

  constructor(publicKeyPems: readonly string[]) {
    for (const pem of publicKeyPems) {
      const key = ed25519(createPublicKey(pem), 'trusted firmware key');
      this.byId.set(keyIdOf(key), key);
    }
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  /**
   * Parses and checks a manifest from outside (JSON text or a parsed value): schema, a known key,
   * the signature, and the target the caller installs. Throws `FirmwareRejectedError`.
   */
  verifyManifest(input: unknown, target: FirmwareTarget): FirmwareManifest {
    let value = input;
    if (typeof input === 'string' || input instanceof Uint8Array) {
      try {
        value = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
      } catch {
        throw new FirmwareRejectedError('malformed', 'manifest is not JSON');
      }
    }
    const parsed = manifestSchema.safeParse(value);
    if (!parsed.success)
      throw new FirmwareRejectedError(
        'malformed',
        `manifest: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    const m = parsed.data;
    const key = this.byId.get(m.keyId);
    if (!key)
      throw new FirmwareRejectedError(
        'unknown_key',
        `manifest signed by key ${m.keyId}, which is not trusted`,
      );
    if (!verify(null, signedBytes(m), key, Buffer.from(m.signature, 'base64')))
      throw new FirmwareRejectedError(
        'bad_signature',
        `manifest ${m.target} ${m.version}: signature does not verify`,
      );
    if (m.target !== target)
      throw new FirmwareRejectedError('target', `manifest is for ${m.target}, not ${target}`);
    return m;
  }
}

/** Checks an image against its (already verified) manifest: size, then SHA-256. */
export function verifyImage(manifest: FirmwareManifest, image: Uint8Array): void {
  if (image.length !== manifest.size)
    throw new FirmwareRejectedError('size', `image is ${image.length} bytes, manifest says ${manifest.size}`);
  const digest = sha256Hex(image);
  if (digest !== manifest.sha256)
    throw new FirmwareRejectedError(
      'digest',
      `image SHA-256 ${digest.slice(0, 12)}… differs from the manifest's`,
    );
}

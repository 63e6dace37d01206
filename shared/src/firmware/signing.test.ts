import { describe, expect, it } from 'vitest';
import { FirmwareRejectedError, generateReleaseKey, signImage, TrustedKeys, verifyImage } from './index.js';

const image = Uint8Array.from({ length: 4096 }, (_, i) => (i * 13) & 0xff);
const release = generateReleaseKey();
const other = generateReleaseKey();
const trusted = new TrustedKeys([release.publicKeyPem]);

function rejected(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof FirmwareRejectedError) return error.reason;
    throw error;
  }
  throw new Error('accepted');
}

describe('firmware signing', () => {
  it('signs an image that verifies with the public key alone', () => {
    const m = signImage(image, {
      privateKeyPem: release.privateKeyPem,
      target: 'shelf-controller',
      version: '2.0.0',
    });
    expect(m).toMatchObject({ size: 4096, keyId: release.keyId, version: '2.0.0' });
    expect(trusted.verifyManifest(JSON.stringify(m), 'shelf-controller')).toEqual(m);
    verifyImage(m, image);
  });

  it('refuses an image with one byte changed', () => {
    const m = signImage(image, {
      privateKeyPem: release.privateKeyPem,
      target: 'shelf-controller',
      version: '2.0.0',
    });
    const tampered = image.slice();
    tampered[1000] = (tampered[1000] ?? 0) ^ 0x01;
    expect(rejected(() => verifyImage(m, tampered))).toBe('digest');
    expect(rejected(() => verifyImage(m, image.subarray(1)))).toBe('size');
  });

  it('refuses a manifest signed by another key, or edited after signing', () => {
    const foreign = signImage(image, {
      privateKeyPem: other.privateKeyPem,
      target: 'shelf-controller',
      version: '2.0.0',
    });
    expect(rejected(() => trusted.verifyManifest(foreign, 'shelf-controller'))).toBe('unknown_key');
    // Another key's signature under our key id: the signature check catches it.
    expect(
      rejected(() => trusted.verifyManifest({ ...foreign, keyId: release.keyId }, 'shelf-controller')),
    ).toBe('bad_signature');
    const m = signImage(image, {
      privateKeyPem: release.privateKeyPem,
      target: 'shelf-controller',
      version: '2.0.0',
    });
    expect(rejected(() => trusted.verifyManifest({ ...m, version: '2.0.1' }, 'shelf-controller'))).toBe(
      'bad_signature',
    );
    expect(rejected(() => trusted.verifyManifest({ ...m, sha256: '0'.repeat(64) }, 'shelf-controller'))).toBe(
      'bad_signature',
    );
    expect(rejected(() => trusted.verifyManifest(m, 'edge-agent'))).toBe('target');
    expect(rejected(() => trusted.verifyManifest('{', 'edge-agent'))).toBe('malformed');
    expect(rejected(() => trusted.verifyManifest({ ...m, size: -1 }, 'shelf-controller'))).toBe('malformed');
  });

  it('refuses versions a HELLO cannot carry and keys that are not Ed25519', () => {
    expect(() =>
      signImage(image, { privateKeyPem: release.privateKeyPem, target: 'edge-agent', version: 'latest' }),
    ).toThrow(/manifest/);
    expect(() => new TrustedKeys(['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'])).toThrow();
  });
});

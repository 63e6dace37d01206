import { describe, expect, it } from 'vitest';
import { s3Url, serverAvailable } from '../testing/servers.js';
import { tempDir, uniqueName } from '../testing/temp.js';
import { describeObjectStoreContract } from './contract.js';
import { copyObjects, folderObjectStore, s3ObjectStore } from './index.js';

const available = await serverAvailable('s3');

function openS3() {
  const u = new URL(s3Url());
  return s3ObjectStore({
    endpoint: `${u.protocol}//${u.host}`,
    bucket: 'bitv-contract',
    accessKeyId: decodeURIComponent(u.username),
    secretAccessKey: decodeURIComponent(u.password),
    createBucket: true,
    timeoutMs: 20_000,
  });
}

describe.skipIf(!available)('S3 (S3Proxy)', () => {
  describeObjectStoreContract('s3', async () => ({ store: openS3(), dispose: async () => {} }));

  it('moves firmware artifacts from the folder store to S3 and back, resuming a cut copy', {
    timeout: 60_000,
  }, async () => {
    const dir = await tempDir();
    const back = await tempDir();
    const s3 = openS3();
    const prefix = `${uniqueName('move')}/`;
    try {
      const folder = folderObjectStore(dir.path);
      const image = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff);
      await folder.put(`${prefix}shelf-controller/2.0.0/image.bin`, image);
      await folder.put(`${prefix}shelf-controller/2.0.0/manifest.json`, new TextEncoder().encode('{"v":1}'));
      await folder.put(`${prefix}edge-agent/1.1.0/bundle.tgz`, image.subarray(0, 1234));
      // A copy cut after its first object: the rerun skips what is there.
      await s3.put(`${prefix}edge-agent/1.1.0/bundle.tgz`, image.subarray(0, 1234));
      const first = await copyObjects(folder, s3, { prefix });
      expect(first).toEqual({ copied: 2, skipped: 1, bytes: 200_000 + 7 });
      const again = await copyObjects(folder, s3, { prefix });
      expect(again).toMatchObject({ copied: 0, skipped: 3 });
      const home = folderObjectStore(back.path);
      await copyObjects(s3, home, { prefix });
      const got = await home.get(`${prefix}shelf-controller/2.0.0/image.bin`);
      expect(Buffer.from(got).equals(Buffer.from(image))).toBe(true);
    } finally {
      for (const o of await s3.list(prefix)) await s3.delete(o.key);
      await dir.remove();
      await back.remove();
    }
  });
});

import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/temp.js';
import { describeObjectStoreContract } from './contract.js';
import { folderObjectStore } from './folder.js';
import { objectStoreConfigFromEnv, objectStoreFromUrl, parseListPage } from './index.js';

describeObjectStoreContract('folder', async () => {
  const dir = await tempDir();
  return { store: folderObjectStore(dir.path), dispose: dir.remove };
});

describe('folder object store', () => {
  it('leaves no temp files behind and never lists them', async () => {
    const dir = await tempDir();
    try {
      const store = folderObjectStore(dir.path);
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.put('same', new Uint8Array([i]))));
      expect(await readdir(dir.path)).toEqual(['same']);
      expect((await store.get('same')).length).toBe(1);
    } finally {
      await dir.remove();
    }
  });
});

describe('object store settings', () => {
  it('picks the folder without an endpoint and S3 with one', () => {
    expect(objectStoreConfigFromEnv({}, '/data/objects')).toEqual({ kind: 'folder', dir: '/data/objects' });
    expect(
      objectStoreConfigFromEnv(
        { BV_S3_ENDPOINT: 'http://127.0.0.1:9', BV_S3_ACCESS_KEY_ID: 'a', BV_S3_SECRET_ACCESS_KEY: 'b' },
        '/x',
      ),
    ).toMatchObject({ kind: 's3', bucket: 'bitv-firmware', region: 'us-east-1', timeoutMs: 30_000 });
  });
  it('names what is missing', () => {
    expect(() => objectStoreConfigFromEnv({ BV_S3_ENDPOINT: 'http://127.0.0.1:9' }, '/x')).toThrow(
      /BV_S3_ACCESS_KEY_ID/,
    );
  });
});

describe('ListObjectsV2 parsing', () => {
  it('reads keys (unescaped), sizes and the continuation token', () => {
    const xml = `<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a&amp;b</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified><Size>12</Size></Contents><NextContinuationToken>t1</NextContinuationToken></ListBucketResult>`;
    expect(parseListPage(xml)).toEqual({
      objects: [{ key: 'a&b', size: 12, modifiedAt: new Date('2026-01-02T03:04:05Z') }],
      next: 't1',
    });
  });
});

describe('object store URLs', () => {
  it('reads a folder and an S3 endpoint with its credentials', () => {
    expect(objectStoreFromUrl('file:///var/lib/bitv/fw')).toEqual({
      kind: 'folder',
      dir: '/var/lib/bitv/fw',
    });
    expect(objectStoreFromUrl('/srv/fw')).toEqual({ kind: 'folder', dir: '/srv/fw' });
    expect(objectStoreFromUrl('s3+http://ak:s%2Fk@127.0.0.1:8090/bitv-firmware?region=eu-west-1')).toEqual({
      kind: 's3',
      endpoint: 'http://127.0.0.1:8090',
      bucket: 'bitv-firmware',
      region: 'eu-west-1',
      accessKeyId: 'ak',
      secretAccessKey: 's/k',
      timeoutMs: 30_000,
      createBucket: false,
    });
  });
  it('refuses what it cannot use, without echoing the secret', () => {
    expect(() => objectStoreFromUrl('s3+http://127.0.0.1:8090/b')).toThrow(/KEY:SECRET/);
    expect(() => objectStoreFromUrl('http://x/b')).toThrow(/file:, s3\+http:/);
    expect(() => objectStoreFromUrl('s3+http://a:b@h/b/c')).toThrow(/one bucket/);
    expect(() => objectStoreFromUrl('not a url secret')).toThrow();
  });
});

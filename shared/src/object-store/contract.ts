import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../errors/index.js';
import { uniqueName } from '../testing/temp.js';
import type { ObjectStore } from './port.js';

/**
 * What every object store does the same way; the firmware service and the agent's downloader are
 * written once against this. Each run works under its own prefix, so runs may share a bucket.
 */
export function describeObjectStoreContract(
  name: string,
  open: () => Promise<{ store: ObjectStore; dispose: () => Promise<void> }>,
): void {
  describe(`object store contract: ${name}`, { timeout: 60_000 }, () => {
    let store: ObjectStore;
    let dispose: () => Promise<void>;
    const p = `${uniqueName('c')}/`;
    const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

    beforeAll(async () => {
      ({ store, dispose } = await open());
    }, 60_000);
    afterAll(async () => {
      for (const o of (await store?.list(p)) ?? []) await store.delete(o.key);
      await dispose?.();
    });

    it('puts and gets bytes back unchanged, including zero bytes and empty objects', async () => {
      const data = bytes(70_000);
      const info = await store.put(`${p}images/a.bin`, data);
      expect(info).toMatchObject({ key: `${p}images/a.bin`, size: 70_000 });
      expect(Buffer.from(await store.get(`${p}images/a.bin`)).equals(Buffer.from(data))).toBe(true);
      await store.put(`${p}empty`, new Uint8Array(0));
      expect((await store.get(`${p}empty`)).length).toBe(0);
    });

    it('replaces an object as a whole', async () => {
      await store.put(`${p}r`, bytes(100, 1));
      await store.put(`${p}r`, bytes(10, 2));
      expect(Buffer.from(await store.get(`${p}r`)).equals(Buffer.from(bytes(10, 2)))).toBe(true);
      expect((await store.stat(`${p}r`))?.size).toBe(10);
    });

    it('reads ranges for resumed downloads', async () => {
      const data = bytes(5000, 3);
      await store.put(`${p}ranged`, data);
      const slice = (a: number, b: number) => Buffer.from(data.subarray(a, b));
      expect(Buffer.from(await store.get(`${p}ranged`, { offset: 1000, length: 500 }))).toEqual(
        slice(1000, 1500),
      );
      expect(Buffer.from(await store.get(`${p}ranged`, { offset: 4900 }))).toEqual(slice(4900, 5000));
      // A length past the end is cut at the end.
      expect(Buffer.from(await store.get(`${p}ranged`, { offset: 4990, length: 100 }))).toEqual(
        slice(4990, 5000),
      );
      expect((await store.get(`${p}ranged`, { offset: 5000 })).length).toBe(0);
      await expect(store.get(`${p}ranged`, { offset: 5001 })).rejects.toBeInstanceOf(ValidationError);
      await expect(store.get(`${p}ranged`, { offset: -1 })).rejects.toBeInstanceOf(ValidationError);
    });

    it('stats, lists by prefix in key order, and deletes', async () => {
      await store.put(`${p}l/b`, bytes(2));
      await store.put(`${p}l/a`, bytes(1));
      await store.put(`${p}l/sub/c`, bytes(3));
      await store.put(`${p}lx`, bytes(4));
      const listed = await store.list(`${p}l/`);
      expect(listed.map((o) => [o.key, o.size])).toEqual([
        [`${p}l/a`, 1],
        [`${p}l/b`, 2],
        [`${p}l/sub/c`, 3],
      ]);
      expect(listed[0]!.modifiedAt.getTime()).toBeGreaterThan(0);
      expect(await store.stat(`${p}l/none`)).toBeUndefined();
      await store.delete(`${p}l/a`);
      await store.delete(`${p}l/a`);
      expect(await store.stat(`${p}l/a`)).toBeUndefined();
      expect((await store.list(`${p}l/`)).length).toBe(2);
    });

    it('says not found for a missing object', async () => {
      await expect(store.get(`${p}missing`)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.get(`${p}missing`, { offset: 0, length: 10 })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('refuses keys that could escape or mean different things in another store', async () => {
      for (const key of ['', '/abs', 'a//b', '../x', 'a/../b', 'a b', 'a/.', 'ü', `${p}.tmp-x`]) {
        await expect(store.put(key, bytes(1)), key).rejects.toBeInstanceOf(ValidationError);
        await expect(store.get(key), key).rejects.toBeInstanceOf(ValidationError);
      }
    });
  });
}

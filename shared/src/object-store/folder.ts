import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { NotFoundError, ValidationError } from '../errors/index.js';
import { checkKey, checkPrefix, checkRange } from './key.js';
import type { ByteRange, ObjectInfo, ObjectStore } from './port.js';

/** The embedded default: one file per key under `root`, written to a temp file then renamed. */
export function folderObjectStore(root: string): ObjectStore {
  const pathOf = (key: string) => join(root, ...checkKey(key).split('/'));

  async function info(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(pathOf(key));
      return s.isFile() ? { key, size: s.size, modifiedAt: s.mtime } : undefined;
    } catch (error) {
      if (isNoEntry(error)) return undefined;
      throw error;
    }
  }

  async function walk(dir: string, out: ObjectInfo[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isNoEntry(error)) return;
      throw error;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path, out);
      else if (e.isFile() && !e.name.startsWith('.tmp-')) {
        const s = await stat(path);
        out.push({ key: relative(root, path).split(sep).join('/'), size: s.size, modifiedAt: s.mtime });
      }
    }
  }

  return {
    kind: 'folder',
    async put(key, data) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = join(dirname(path), `.tmp-${randomBytes(6).toString('hex')}`);
      await writeFile(tmp, data);
      await rename(tmp, path);
      const s = await stat(path);
      return { key, size: s.size, modifiedAt: s.mtime };
    },
    async get(key, range?: ByteRange) {
      const path = pathOf(key);
      if (range) checkRange(range);
      let handle: import('node:fs/promises').FileHandle;
      try {
        handle = await open(path, 'r');
      } catch (error) {
        if (isNoEntry(error)) throw new NotFoundError(`object ${key} not found`);
        throw error;
      }
      try {
        const size = (await handle.stat()).size;
        const offset = range?.offset ?? 0;
        if (offset > size)
          throw new ValidationError(`object ${key}: range starts at ${offset}, past its ${size} bytes`);
        const length = Math.min(range?.length ?? size - offset, size - offset);
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(out, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return out.subarray(0, done);
      } finally {
        await handle.close();
      }
    },
    stat: info,
    async list(prefix = '') {
      checkPrefix(prefix);
      const out: ObjectInfo[] = [];
      await walk(root, out);
      return out.filter((o) => o.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1));
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
    async close() {
      // Nothing held open between calls.
    },
  };
}

function isNoEntry(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

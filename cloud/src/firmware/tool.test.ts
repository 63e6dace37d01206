import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@bitv/shared/testing';
import { describe, expect, it } from 'vitest';
import { runFirmwareTool } from './tool.js';

function io(env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const progress: string[] = [];
  return {
    out,
    progress,
    io: { out: (l: string) => out.push(l), progress: (l: string) => progress.push(l), env },
  };
}

describe('bitv-firmware', () => {
  it('makes a key, signs, verifies, refuses a tampered image, publishes and copies', {
    timeout: 60_000,
  }, async () => {
    const dir = await tempDir();
    try {
      const d = (f: string) => join(dir.path, f);
      const run = async (argv: string[], env = {}) => {
        const t = io({ BV_OBJECT_STORE_DIR: d('store'), ...env });
        const status = await runFirmwareTool(argv, t.io);
        return { status, ...t };
      };
      expect((await run(['keygen', '--out', d('keys')])).out[0]).toMatch(/^keyId [0-9a-f]{16}$/);
      expect((await stat(d('keys/release.key'))).mode & 0o777).toBe(0o600);
      await writeFile(d('fw.bin'), Buffer.alloc(10_000, 7));
      const signed = await run([
        'sign',
        '--key',
        d('keys/release.key'),
        '--target',
        'shelf-controller',
        '--version',
        '2.0.0',
        '--image',
        d('fw.bin'),
      ]);
      expect(signed.progress.join('\n')).toMatch(/hashing and signing 10000 bytes/);
      const verify = [
        'verify',
        '--pub',
        d('keys/release.pub'),
        '--target',
        'shelf-controller',
        '--manifest',
        d('fw.bin.manifest.json'),
      ];
      expect((await run([...verify, '--image', d('fw.bin')])).out[0]).toMatch(/^ok shelf-controller 2.0.0/);

      const bad = Buffer.alloc(10_000, 7);
      bad[5000] = 8;
      await writeFile(d('bad.bin'), bad);
      await expect(run([...verify, '--image', d('bad.bin')])).rejects.toMatchObject({ reason: 'digest' });
      await run(['keygen', '--out', d('other')]);
      await expect(
        run([
          'verify',
          '--pub',
          d('other/release.pub'),
          '--target',
          'shelf-controller',
          '--manifest',
          d('fw.bin.manifest.json'),
          '--image',
          d('fw.bin'),
        ]),
      ).rejects.toMatchObject({ reason: 'unknown_key' });

      await run(['publish', '--image', d('fw.bin'), '--manifest', d('fw.bin.manifest.json')]);
      expect((await run(['list'])).out.map((l) => l.split('\t')[0])).toEqual([
        'shelf-controller/2.0.0/image.bin',
        'shelf-controller/2.0.0/manifest.json',
      ]);
      const copy = await run(['copy', '--to-dir', d('copy')]);
      expect(copy.out[0]).toBe(
        'copied 2 (' + (10_000 + (await stat(d('fw.bin.manifest.json'))).size) + ' bytes), 0 already there',
      );
      expect(copy.progress[0]).toMatch(/^\[1\/2\] copied shelf-controller\/2.0.0\/image.bin/);
      expect(await readFile(d('copy/shelf-controller/2.0.0/image.bin'))).toEqual(await readFile(d('fw.bin')));
    } finally {
      await dir.remove();
    }
  });

  it('says what is missing', async () => {
    await expect(runFirmwareTool(['sign', '--key', 'x'], io().io)).rejects.toThrow(
      /--target, --version, --image/,
    );
    await expect(runFirmwareTool(['nope'], io().io)).rejects.toThrow(/unknown command/);
    expect(await runFirmwareTool(['--help'], io().io)).toBe(0);
  });
});

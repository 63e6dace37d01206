import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@bitv/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { AlreadyRunningError, acquireRunLock } from './lock.js';

/** A process that is surely gone: started, then waited for. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid as number;
}

describe('acquireRunLock', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('takes a free folder, refuses while the owner lives, and frees it on release', async () => {
    const dir = await tempDir('bv-lock-');
    cleanups.push(dir.remove);
    const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    cleanups.push(async () => {
      owner.kill('SIGKILL');
    });
    writeFileSync(join(dir.path, 'platform.pid'), `${owner.pid}\n`);
    expect(() => acquireRunLock(dir.path)).toThrow(AlreadyRunningError);
    expect(() => acquireRunLock(dir.path)).toThrow(`already running (pid ${owner.pid})`);
    expect(readFileSync(join(dir.path, 'platform.pid'), 'utf8')).toBe(`${owner.pid}\n`);

    owner.kill('SIGKILL');
    await once(owner, 'exit');
    const lock = acquireRunLock(dir.path);
    expect(readFileSync(lock.file, 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
  });

  it('takes over a pid file left by a crashed run, or one that holds no pid', async () => {
    const dir = await tempDir('bv-lock-');
    cleanups.push(dir.remove);
    const file = join(dir.path, 'platform.pid');
    writeFileSync(file, `${await deadPid()}\n`);
    acquireRunLock(dir.path).release();
    writeFileSync(file, 'garbage');
    const lock = acquireRunLock(dir.path);
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
  });

  it('takes over a pid file whose pid now belongs to a process started after it was written', async () => {
    const dir = await tempDir('bv-lock-');
    cleanups.push(dir.remove);
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    cleanups.push(async () => {
      other.kill('SIGKILL');
    });
    await once(other, 'spawn');
    const file = join(dir.path, 'platform.pid');
    writeFileSync(file, `${other.pid}\n`);
    // Written an hour ago, by a run before a reboot that has since handed the number to `other`.
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(file, anHourAgo, anHourAgo);
    const lock = acquireRunLock(dir.path);
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
  });

  it('does not take over while another launcher is taking over, and ignores a marker a dead one left', async () => {
    const dir = await tempDir('bv-lock-');
    cleanups.push(dir.remove);
    const file = join(dir.path, 'platform.pid');
    writeFileSync(file, `${await deadPid()}\n`);
    const marker = `${file}.takeover`;
    writeFileSync(marker, '1\n');
    expect(() => acquireRunLock(dir.path)).toThrow(/another launcher is starting in this run folder/);
    expect(existsSync(file)).toBe(true);

    const twoMinutesAgo = new Date(Date.now() - 120_000);
    utimesSync(marker, twoMinutesAgo, twoMinutesAgo);
    const lock = acquireRunLock(dir.path);
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    expect(existsSync(marker)).toBe(false);
    lock.release();
  });

  it('release leaves a pid file that is not its own', async () => {
    const dir = await tempDir('bv-lock-');
    cleanups.push(dir.remove);
    const lock = acquireRunLock(dir.path);
    writeFileSync(lock.file, '1\n');
    lock.release();
    expect(readFileSync(lock.file, 'utf8')).toBe('1\n');
  });
});

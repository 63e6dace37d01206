import { silentLogger } from '@bitv/shared/log';
import { eventually, tempDir } from '@bitv/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriverSink } from '../src/drivers/driver.js';
import { ShelfLinkDriver } from '../src/drivers/shelf-link.js';
import type { NewReading } from '../src/outbox/index.js';
import { startPtyPair } from './harness/pty.js';
import { TestShelf } from './harness/shelf.js';

function recordingSink() {
  const events: string[] = [];
  const readings: { device: string; readings: NewReading[]; linkSeq?: number | undefined }[] = [];
  const linkSeqs = new Map<string, number>();
  const sink: DriverSink = {
    deviceOnline: (info) => events.push(`online ${info.name} ${info.firmware} ${info.binCount}`),
    deviceOffline: (name) => events.push(`offline ${name}`),
    readings: (device, rs, linkSeq) => {
      readings.push({ device, readings: rs, linkSeq });
      if (linkSeq !== undefined) linkSeqs.set(device, linkSeq);
    },
    linkGap: (device, from, to, frames) => events.push(`gap ${device} ${from}-${to} ${frames}`),
    linkSeen: (device, seq) => linkSeqs.set(device, seq),
    lastLinkSeq: (device) => linkSeqs.get(device) ?? null,
    badFrame: (reason) => events.push(`bad ${reason}`),
    linkState: (_link, up) => events.push(`link ${up ? 'up' : 'down'}`),
  };
  return {
    sink,
    events,
    readings,
    count: (device: string) =>
      readings.filter((r) => r.device === device).reduce((n, r) => n + r.readings.length, 0),
  };
}

describe('shelf-link driver', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('notices a replaced controller by its serial number and a stalled one by silence', async () => {
    const dir = await tempDir('bv-edge-link-');
    cleanups.push(dir.remove);
    const pty = await startPtyPair(dir.path, 'port');
    cleanups.push(pty.stop);
    const rec = recordingSink();
    const driver = new ShelfLinkDriver(
      { path: pty.hostPath, staleAfterMs: 1500, heartbeatIntervalMs: 100, helloTimeoutMs: 300 },
      rec.sink,
      silentLogger,
    );
    cleanups.push(() => driver.close());
    const a = new TestShelf('AAA', 2, pty.devicePath);
    await a.open();
    driver.start();
    await eventually(() => rec.events.includes('online shelf-AAA 1.0.0 2'), 'shelf A online');
    for (let i = 0; i < 3; i++) a.emitReading();
    await eventually(() => rec.count('shelf-AAA') === 3, 'A readings');
    expect(rec.readings[0]!.readings[0]).toMatchObject({
      bins: [
        { bin: 0, weightG: 0 },
        { bin: 1, weightG: 0.1 },
      ],
      temperatureC: 21.5,
    });
    expect(driver.owns('shelf-AAA')).toBe(true);

    // Controller swapped on the same port: a different serial number answers.
    await a.close();
    await eventually(() => rec.events.includes('offline shelf-AAA'), 'A stalled (no frames)', 5000);
    const b = new TestShelf('BBB', 3, pty.devicePath);
    await b.open();
    cleanups.push(() => b.close());
    await eventually(
      () => rec.events.includes('online shelf-BBB 1.0.0 3'),
      'B online after request_hello',
      5000,
    );
    b.emitReading();
    await eventually(() => rec.count('shelf-BBB') === 1, 'B reading');
    expect(driver.owns('shelf-AAA')).toBe(false);
    expect(driver.owns('shelf-BBB')).toBe(true);
    const outcome = await driver.execute('shelf-BBB', { action: 'tare', bin: 7 });
    expect(outcome).toEqual({ status: 'failed', reason: 'NACK invalid_bin' });
    expect(await driver.execute('shelf-BBB', { action: 'identify', seconds: 5 })).toEqual({ status: 'done' });
    expect(await driver.execute('shelf-AAA', { action: 'reboot' })).toMatchObject({ status: 'failed' });
  }, 30_000);

  it('recovers what the shelf sent while closed, reports frames lost on the wire, times out unanswered commands', async () => {
    const dir = await tempDir('bv-edge-link-');
    cleanups.push(dir.remove);
    const pty = await startPtyPair(dir.path, 'port');
    cleanups.push(pty.stop);
    const shelf = new TestShelf('CCC', 1, pty.devicePath);
    await shelf.open();
    cleanups.push(() => shelf.close());
    const rec = recordingSink();
    const first = new ShelfLinkDriver({ path: pty.hostPath }, rec.sink, silentLogger);
    first.start();
    await eventually(() => rec.events.some((e) => e.startsWith('online shelf-CCC')), 'online');
    shelf.emitReading();
    await eventually(() => rec.count('shelf-CCC') === 1, 'stored');
    await first.close();
    // Sent while no driver reads the port: a pty keeps them (opened without a flush), so the
    // next driver stores them; nothing is lost.
    for (let i = 0; i < 5; i++) shelf.emitReading();
    await new Promise((r) => setTimeout(r, 100));
    const second = new ShelfLinkDriver({ path: pty.hostPath }, rec.sink, silentLogger);
    cleanups.push(() => second.close());
    second.start();
    await eventually(() => rec.count('shelf-CCC') === 6, 'readings sent while closed recovered');
    expect(rec.events.filter((e) => e.startsWith('gap'))).toEqual([]);
    // Frames that never arrive (lost on the wire) are reported by their link sequence.
    shelf.skipFrames(3);
    shelf.emitReading();
    await eventually(() => rec.events.some((e) => e.startsWith('gap shelf-CCC')), 'link gap reported');
    const last = shelf.produced.at(-1)!.linkSeq;
    expect(rec.events.find((e) => e.startsWith('gap'))).toBe(`gap shelf-CCC ${last - 3}-${last - 1} 3`);
    // A controller that stops answering: the command fails after the link's timeout.
    await eventually(() => second.owns('shelf-CCC'), 'identified again');
    await shelf.close();
    const outcome = await second.execute('shelf-CCC', {
      action: 'set_led',
      bin: 0,
      color: '#ffffff',
      blink: 'fast',
    });
    expect(outcome).toMatchObject({ status: 'failed', reason: expect.stringMatching(/no ACK\/NACK within/) });
  }, 30_000);
});

import { silentLogger } from '@bitv/shared/log';
import { eventually, tempDir } from '@bitv/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriverSink } from '../src/drivers/driver.js';
import { ShelfLinkDriver } from '../src/drivers/shelf-link.js';
import type { NewReading, ReplayPosition } from '../src/outbox/index.js';
import { startPtyPair } from './harness/pty.js';
import { TestShelf } from './harness/shelf.js';

function recordingSink() {
  const events: string[] = [];
  const readings: { device: string; readings: NewReading[]; linkSeq?: number | undefined }[] = [];
  const linkSeqs = new Map<string, number>();
  const positions = new Map<string, ReplayPosition>();
  const duplicates = new Map<string, number>();
  const sink: DriverSink = {
    deviceOnline: (info) => events.push(`online ${info.name} ${info.firmware} ${info.binCount}`),
    deviceOffline: (name) => events.push(`offline ${name}`),
    readings: (device, rs, linkSeq, _first, replay) => {
      readings.push({ device, readings: rs, linkSeq });
      if (linkSeq !== undefined) linkSeqs.set(device, linkSeq);
      if (replay) positions.set(device, replay);
      return true;
    },
    linkGap: (device, from, to, frames, reason) =>
      events.push(`gap ${device} ${from}-${to} ${frames}${reason ? ` ${reason}` : ''}`),
    linkSeen: (device, seq) => linkSeqs.set(device, seq),
    lastLinkSeq: (device) => linkSeqs.get(device) ?? null,
    replayPosition: (device) => positions.get(device) ?? null,
    duplicateReadings: (device, n) => duplicates.set(device, (duplicates.get(device) ?? 0) + n),
    badFrame: (reason) => events.push(`bad ${reason}`),
    linkState: (_link, up) => events.push(`link ${up ? 'up' : 'down'}`),
  };
  return {
    sink,
    events,
    readings,
    positions,
    duplicates,
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

  it('a replay shelf on a lossy link: what it sent while closed comes back, duplicates are counted not stored, evictions are a gap', async () => {
    // TCP: what the shelf writes while no driver is connected is lost, as on USB CDC.
    const shelf = new TestShelf('RPL', 1, undefined, { replay: true });
    await shelf.open();
    cleanups.push(() => shelf.close());
    const rec = recordingSink();
    const weights = () =>
      rec.readings
        .filter((r) => r.device === 'shelf-RPL')
        .flatMap((r) => r.readings.map((x) => x.bins[0]!.weightG));
    const start = async () => {
      const d = new ShelfLinkDriver({ path: shelf.hostPath }, rec.sink, silentLogger);
      d.start();
      await eventually(() => d.owns('shelf-RPL'), 'online');
      return d;
    };
    const first = await start();
    for (let i = 0; i < 3; i++) shelf.emitReading();
    await eventually(() => rec.count('shelf-RPL') === 3, 'stored');
    // [SL-STORED-1] after the commit the shelf is told, and forgets them.
    await eventually(() => shelf.keptReadings === 0, 'STORED frees the shelf');
    expect(rec.positions.get('shelf-RPL')).toEqual({ bootId: shelf.bootId, deviceTimeMs: 300 });

    // STOREDs lost from now on: the shelf keeps what the driver stores, and replays it later.
    shelf.honourStored = false;
    for (let i = 0; i < 2; i++) shelf.emitReading();
    await eventually(() => rec.count('shelf-RPL') === 5, 'stored');
    await first.close();
    await eventually(() => !shelf.connected, 'the driver gone');
    for (let i = 0; i < 4; i++) shelf.emitReading(); // nobody connected: discarded on the wire
    expect(shelf.discarded).toBeGreaterThanOrEqual(4);
    const second = await start();
    cleanups.push(() => second.close());
    await eventually(() => rec.count('shelf-RPL') === 9, 'the readings sent while closed, replayed');
    // Each stored once, in order; the two replayed copies of stored readings were counted.
    expect(weights()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(rec.duplicates.get('shelf-RPL')).toBe(2);
    expect(rec.events.filter((e) => e.startsWith('gap'))).toEqual([]);
    expect(shelf.replayed).toBe(6);

    // Readings the shelf had to drop before the next replay are a gap, counted in device time.
    shelf.honourStored = true;
    shelf.emitReading();
    await eventually(() => shelf.keptReadings === 0, 'everything stored');
    await second.close();
    await eventually(() => !shelf.connected, 'the driver gone');
    for (let i = 0; i < 5; i++) shelf.emitReading();
    shelf.evictOldest(2);
    const third = await start();
    cleanups.push(() => third.close());
    await eventually(() => rec.count('shelf-RPL') === 13, 'the kept three');
    expect(rec.events.filter((e) => e.startsWith('gap'))).toEqual([
      'gap shelf-RPL 1100-1200 2 readings not replayed (device time ms)',
    ]);
    expect(weights().slice(-3)).toEqual([12, 13, 14]);
    expect(rec.duplicates.get('shelf-RPL')).toBe(2);
  }, 30_000);
});

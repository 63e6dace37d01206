import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { type DriverSink, ShelfLinkDriver } from '@bitv/edge-agent';
import { fetchRelease, shelfFirmwareRunner, updateShelf } from '@bitv/edge-agent/ota';
import { buildSimImage, startSimulation } from '@bitv/firmware-sim';
import { artifactKeys, generateReleaseKey, signImage, TrustedKeys } from '@bitv/shared/firmware';
import { silentLogger } from '@bitv/shared/log';
import { folderObjectStore } from '@bitv/shared/object-store';
import { eventually, tempDir } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A simulated shelf controller on a TCP link, the edge agent's shelf driver and its OTA updater,
 * and releases in a folder object store: docs/ota.md "Updating a shelf controller".
 */
const release = generateReleaseKey();
const stranger = generateReleaseKey();

function recordingSink() {
  let stored = 0;
  let duplicates = 0;
  const gaps: string[] = [];
  const positions = new Map<string, { bootId: number; deviceTimeMs: number }>();
  const seqs = new Map<string, number>();
  const sink: DriverSink = {
    deviceOnline: () => {},
    deviceOffline: () => {},
    readings: (device, rs, linkSeq, _first, replay) => {
      stored += rs.length;
      if (linkSeq !== undefined) seqs.set(device, linkSeq);
      if (replay) positions.set(device, replay);
      return true;
    },
    linkGap: (device, from, to, count, reason) =>
      gaps.push(`${device} ${from}-${to} ${count} ${reason ?? ''}`),
    linkSeen: (device, seq) => seqs.set(device, seq),
    lastLinkSeq: (device) => seqs.get(device) ?? null,
    replayPosition: (device) => positions.get(device) ?? null,
    duplicateReadings: (_d, n) => {
      duplicates += n;
    },
    badFrame: () => {},
    linkState: () => {},
  };
  return { sink, gaps, stored: () => stored, duplicates: () => duplicates };
}

describe('shelf controller update over the serial link', { timeout: 120_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  let sim: Awaited<ReturnType<typeof startSimulation>>;
  let driver: ShelfLinkDriver;
  let rec: ReturnType<typeof recordingSink>;
  let dir: string;
  const store = () => folderObjectStore(`${dir}/store`);

  async function publish(version: string, image: Uint8Array, privateKeyPem = release.privateKeyPem) {
    const manifest = signImage(image, { privateKeyPem, target: 'shelf-controller', version });
    const keys = artifactKeys('shelf-controller', version);
    await store().put(keys.image, image);
    await store().put(keys.manifest, Buffer.from(JSON.stringify(manifest)));
  }

  beforeAll(async () => {
    const d = await tempDir('bv-ota-shelf-');
    cleanups.push(d.remove);
    dir = d.path;
    sim = await startSimulation({ transport: 'tcp', shelves: 1, bins: 3, controlPort: null, seed: 17 });
    cleanups.push(() => sim.close());
    rec = recordingSink();
    driver = new ShelfLinkDriver(
      { path: sim.shelves[0]!.path, heartbeatIntervalMs: 200 },
      rec.sink,
      silentLogger,
    );
    cleanups.push(() => driver.close());
    driver.start();
    await eventually(() => driver.hello, 'controller linked', 20_000);
    await publish('2.0.0', buildSimImage({ version: '2.0.0', selfTest: 'pass' }, 48_000));
    await publish('2.1.0', buildSimImage({ version: '2.1.0', selfTest: 'fail' }, 24_000));
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  const keys = () => new TrustedKeys([release.publicKeyPem]);

  it('refuses a tampered image and one signed by another key before sending anything', async () => {
    const image = buildSimImage({ version: '2.0.9', selfTest: 'pass' }, 10_000);
    await publish('2.0.9', image);
    const tampered = image.slice();
    tampered[5000] = (tampered[5000] ?? 0) ^ 0xff;
    await store().put(artifactKeys('shelf-controller', '2.0.9').image, tampered);
    await expect(fetchRelease(store(), keys(), 'shelf-controller', '2.0.9', dir)).rejects.toMatchObject({
      reason: 'digest',
    });
    await publish('2.0.8', image, stranger.privateKeyPem);
    await expect(fetchRelease(store(), keys(), 'shelf-controller', '2.0.8', dir)).rejects.toMatchObject({
      reason: 'unknown_key',
    });
    // Nothing reached the controller: it still reports no transfer and its old version.
    expect(driver.hello?.firmwareVersion).toBe('1.4.2');
  });

  it('resumes a cut download from where its part file ends, and drops a corrupt part', async () => {
    const image = await store().get(artifactKeys('shelf-controller', '2.0.0').image);
    const manifest = keys().verifyManifest(
      await store().get(artifactKeys('shelf-controller', '2.0.0').manifest),
      'shelf-controller',
    );
    const part = `${dir}/resume/shelf-controller-2.0.0-${manifest.sha256.slice(0, 12)}.bin.part`;
    await mkdir(`${dir}/resume`, { recursive: true });
    await writeFile(part, image.subarray(0, 20_000));
    const progress: [number, number][] = [];
    const got = await fetchRelease(store(), keys(), 'shelf-controller', '2.0.0', `${dir}/resume`, {
      rangeBytes: 16_000,
      onProgress: (p) => progress.push([p.resumedFrom, p.received]),
    });
    expect(progress).toEqual([
      [20_000, 36_000],
      [20_000, 48_000],
    ]);
    expect(Buffer.from(got.image).equals(Buffer.from(image))).toBe(true);

    const bad = Buffer.from(image.subarray(0, 20_000));
    bad[100] = (bad[100] ?? 0) ^ 1;
    await rm(got.path);
    await writeFile(part, bad);
    await expect(
      fetchRelease(store(), keys(), 'shelf-controller', '2.0.0', `${dir}/resume`),
    ).rejects.toMatchObject({
      reason: 'digest',
    });
    await expect(stat(part)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('updates the controller: A/B slot, trial boot, health check, committed; no reading lost', async () => {
    const r = await fetchRelease(store(), keys(), 'shelf-controller', '2.0.0', dir);
    const sent: number[] = [];
    const result = await updateShelf(driver, r, { onProgress: (p) => sent.push(p.sent) });
    expect(result).toMatchObject({
      outcome: 'updated',
      version: '2.0.0',
      status: { activeSlot: 1, lastResult: 'success' },
    });
    expect(sent.at(-1)).toBe(48_000);
    expect(driver.hello?.firmwareVersion).toBe('2.0.0');
    await expectNoReadingLost();
  });

  it('rolls a deliberately bad image back and reports why; readings still complete', async () => {
    const r = await fetchRelease(store(), keys(), 'shelf-controller', '2.1.0', dir);
    const result = await updateShelf(driver, r);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      version: '2.0.0',
      reason: 'rolled_back health_check',
      status: { otherVersion: '2.1.0' },
    });
    await eventually(() => driver.hello?.bootReason === 'rollback', 'rollback HELLO');
    await expectNoReadingLost();
  });

  it('runs firmware_update commands through the driver: done, or failed with why', async () => {
    await writeFile(`${dir}/release.pub`, release.publicKeyPem);
    const runner = shelfFirmwareRunner(
      { storeUrl: `file://${dir}/store`, publicKeyFiles: [`${dir}/release.pub`], dataDir: `${dir}/agent` },
      silentLogger,
    );
    const commanded = new ShelfLinkDriver(
      { path: sim.shelves[0]!.path },
      recordingSink().sink,
      silentLogger,
      runner,
    );
    // One host per port: this driver takes over the link for the commands.
    await driver.close();
    cleanups.push(() => commanded.close());
    commanded.start();
    await eventually(() => commanded.hello, 'controller linked again', 20_000);
    const device = `shelf-${commanded.hello!.serialNumber}`;
    await publish('2.2.0', buildSimImage({ version: '2.2.0', selfTest: 'pass' }, 6_000));
    expect(await commanded.execute(device, { action: 'firmware_update', version: '2.2.0' })).toEqual({
      status: 'done',
    });
    expect(commanded.hello?.firmwareVersion).toBe('2.2.0');
    expect(await commanded.execute(device, { action: 'firmware_update', version: '2.0.9' })).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^refused before transfer: image SHA-256/),
    });
    const bare = new ShelfLinkDriver({ path: 'tcp://127.0.0.1:1' }, recordingSink().sink, silentLogger);
    expect(await bare.execute(device, { action: 'firmware_update', version: '2.2.0' })).toMatchObject({
      status: 'failed',
    });
  });

  async function expectNoReadingLost() {
    // Every reading the controller took is stored once: equal counts at some instant, no gaps.
    await eventually(
      () => rec.stored() === sim.shelves[0]!.snapshot().counters.readingsSent,
      'every reading stored',
      10_000,
      5,
    );
    expect(sim.shelves[0]!.snapshot().counters.replayEvicted).toBe(0);
    expect(rec.gaps).toEqual([]);
  }
});

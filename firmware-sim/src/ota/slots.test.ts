import { createHash } from 'node:crypto';
import { OTA_MAX_CHUNK, type OtaStatusMessage, otaChunk } from '@bitv/shared/shelf-link';
import { describe, expect, it } from 'vitest';
import { FirmwareHarness } from '../../test/harness.js';
import { buildSimImage } from './image.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A host that stores every reading at once and says so (STORED), as the edge agent does. */
function booted() {
  const h = new FirmwareHarness({ firmwareVersion: '1.4.2' });
  h.firmware.powerOn();
  h.run(1000);
  return h;
}

const storedUpTo = new Map<number, number>();

function storeAll(h: FirmwareHarness): void {
  const hello = h.messages('hello').at(-1);
  const last = h.messages('readings').at(-1);
  if (!hello?.bootId || !last) return;
  storedUpTo.set(hello.bootId, last.deviceTimeMs);
  h.send({ type: 'stored', bootId: hello.bootId, deviceTimeMs: last.deviceTimeMs });
}

/** Advances time in small steps, storing readings as they come (a live host). */
function live(h: FirmwareHarness, ms: number): void {
  for (let t = 0; t < ms; t += 50) {
    h.run(50);
    storeAll(h);
  }
}

function lastStatus(h: FirmwareHarness): OtaStatusMessage {
  return h.messages('ota_status').at(-1)!;
}

function transfer(h: FirmwareHarness, image: Uint8Array, version: string, digest = sha(image)): void {
  const begin = h.send({ type: 'ota_begin', size: image.length, sha256: digest, version });
  expect(h.answerTo(begin)?.type).toBe('ack');
  for (let at = lastStatus(h).received; at < image.length; at += OTA_MAX_CHUNK) {
    const seq = h.send(otaChunk(at, image.subarray(at, at + OTA_MAX_CHUNK)));
    expect(h.answerTo(seq)).toMatchObject({ type: 'ack', opcode: 0x21 });
  }
}

describe('simulated controller A/B update', () => {
  it('writes the inactive slot, boots it on trial, commits after the health check', () => {
    const h = booted();
    expect(lastStatus(h)).toMatchObject({
      activeSlot: 0,
      state: 'idle',
      activeVersion: '1.4.2',
      otherVersion: '',
    });
    const image = buildSimImage({ version: '2.0.0', selfTest: 'pass' }, 20_000);
    transfer(h, image, '2.0.0');
    const commit = h.send({ type: 'ota_end', action: 'commit' });
    expect(h.answerTo(commit)).toMatchObject({ type: 'ack', opcode: 0x22 });
    live(h, 1000);
    const trialHello = h.messages('hello').at(-1)!;
    expect(trialHello).toMatchObject({ bootReason: 'update', firmwareVersion: '2.0.0' });
    expect(lastStatus(h)).toMatchObject({ activeSlot: 1, state: 'trial', otherVersion: '1.4.2' });
    live(h, 3500);
    expect(lastStatus(h)).toMatchObject({
      activeSlot: 1,
      state: 'idle',
      activeVersion: '2.0.0',
      lastResult: 'success',
    });
    // Committed: a power cycle boots 2.0.0 again.
    h.firmware.powerOff();
    h.firmware.powerOn();
    h.run(1000);
    expect(h.messages('hello').at(-1)).toMatchObject({ bootReason: 'power_on', firmwareVersion: '2.0.0' });
  });

  it('rolls back a deliberately bad image after its failed health check, and says why', () => {
    const h = booted();
    const image = buildSimImage({ version: '2.0.1', selfTest: 'fail' }, 8_000);
    transfer(h, image, '2.0.1');
    h.send({ type: 'ota_end', action: 'commit' });
    live(h, 1000);
    expect(h.messages('hello').at(-1)).toMatchObject({ bootReason: 'update', firmwareVersion: '2.0.1' });
    live(h, 5000);
    expect(h.messages('hello').at(-1)).toMatchObject({ bootReason: 'rollback', firmwareVersion: '1.4.2' });
    expect(lastStatus(h)).toMatchObject({
      activeSlot: 0,
      state: 'idle',
      activeVersion: '1.4.2',
      otherVersion: '2.0.1',
      lastResult: 'rolled_back',
      lastReason: 'health_check',
    });
  });

  it('rolls back an image that does not boot, and a trial cut by a power loss', () => {
    const h = booted();
    const unbootable = new Uint8Array(4000).fill(0x5a);
    transfer(h, unbootable, '2.0.2');
    h.send({ type: 'ota_end', action: 'commit' });
    live(h, 2000);
    expect(lastStatus(h)).toMatchObject({
      activeVersion: '1.4.2',
      lastResult: 'rolled_back',
      lastReason: 'boot_failed',
    });

    transfer(h, buildSimImage({ version: '2.0.3', selfTest: 'pass' }, 4000), '2.0.3');
    h.send({ type: 'ota_end', action: 'commit' });
    live(h, 1000);
    expect(lastStatus(h).state).toBe('trial');
    h.firmware.powerOff();
    h.firmware.powerOn();
    live(h, 5000);
    expect(h.messages('hello').at(-1)).toMatchObject({ bootReason: 'rollback', firmwareVersion: '1.4.2' });
    expect(lastStatus(h)).toMatchObject({
      lastResult: 'rolled_back',
      lastReason: 'power_loss',
      activeVersion: '1.4.2',
    });
  });

  it('loses no reading across the update reboot: it waits until the host stored every kept one', () => {
    const h = booted();
    transfer(h, buildSimImage({ version: '2.0.0', selfTest: 'pass' }, 4000), '2.0.0');
    h.send({ type: 'ota_end', action: 'commit' });
    // The host is slow: nothing stored for a while, so the controller must wait, not reboot.
    h.run(1000);
    expect(h.messages('hello').length).toBe(1);
    expect(h.firmware.snapshot().keptReadings).toBeGreaterThan(0);
    live(h, 1000);
    expect(h.messages('hello').at(-1)?.bootReason).toBe('update');
    // Every reading of the first boot was covered by a STORED before its RAM was gone.
    const firstBootId = h.messages('hello')[0]!.bootId!;
    const firstBoot = h.frames.slice(
      0,
      h.frames.findLastIndex((f) => f.message.type === 'hello'),
    );
    const times = firstBoot.flatMap((f) => (f.message.type === 'readings' ? [f.message.deviceTimeMs] : []));
    expect(times.length).toBeGreaterThan(5);
    expect(Math.max(...times)).toBeLessThanOrEqual(storedUpTo.get(firstBootId)!);
  });

  it('refuses a wrong digest, a bad chunk CRC, a chunk out of order; resumes the same image', () => {
    const h = booted();
    const image = buildSimImage({ version: '2.0.0', selfTest: 'pass' }, 3000);
    h.send({ type: 'ota_begin', size: image.length, sha256: sha(image), version: '2.0.0' });
    h.send(otaChunk(0, image.subarray(0, 512)));
    const skip = h.send(otaChunk(1024, image.subarray(1024, 1536)));
    expect(h.answerTo(skip)).toMatchObject({ type: 'nack', reason: 'invalid_argument' });
    const corrupt = h.send({ ...otaChunk(512, image.subarray(512, 1024)), crc: 1 });
    expect(h.answerTo(corrupt)).toMatchObject({ type: 'nack', reason: 'malformed' });
    // The link broke: the host begins again with the same image and is told where to go on.
    h.send({ type: 'ota_begin', size: image.length, sha256: sha(image), version: '2.0.0' });
    expect(lastStatus(h)).toMatchObject({ state: 'receiving', received: 512 });
    const early = h.send({ type: 'ota_end', action: 'commit' });
    expect(h.answerTo(early)).toMatchObject({ type: 'nack', reason: 'invalid_argument' });
    expect(lastStatus(h).lastReason).toBe('incomplete');

    const other = h.send({
      type: 'ota_begin',
      size: image.length,
      sha256: 'ab'.repeat(32),
      version: '2.0.0',
    });
    expect(h.answerTo(other)?.type).toBe('ack');
    expect(lastStatus(h).received).toBe(0);
    for (let at = 0; at < image.length; at += 512) h.send(otaChunk(at, image.subarray(at, at + 512)));
    const commit = h.send({ type: 'ota_end', action: 'commit' });
    expect(h.answerTo(commit)).toMatchObject({ type: 'nack', reason: 'invalid_argument' });
    expect(lastStatus(h)).toMatchObject({
      lastResult: 'refused',
      lastReason: 'digest',
      activeVersion: '1.4.2',
    });
    live(h, 3000);
    expect(h.messages('hello').length).toBe(1);
  });

  it('a controller without the capability does not announce it and answers no OTA frame', () => {
    const h = new FirmwareHarness({ ota: false });
    h.firmware.powerOn();
    h.run(500);
    expect(h.messages('hello')[0]!.capabilities & 0x80).toBe(0);
    const seq = h.send({ type: 'ota_begin', size: 10, sha256: 'ab'.repeat(32), version: '2.0.0' });
    expect(h.answerTo(seq)).toBeUndefined();
    expect(h.messages('ota_status')).toEqual([]);
  });
});

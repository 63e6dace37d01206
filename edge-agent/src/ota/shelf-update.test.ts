import { createHash } from 'node:crypto';
import type { FirmwareManifest } from '@bitv/shared/firmware';
import { capability, type HelloMessage, type OtaStatusMessage } from '@bitv/shared/shelf-link';
import { describe, expect, it } from 'vitest';
import type { CommandOutcome } from '../drivers/driver.js';
import { type ShelfOtaLink, updateShelf } from './shelf-update.js';

const hello = (firmwareVersion: string, bootReason: HelloMessage['bootReason']): HelloMessage => ({
  type: 'hello',
  protocolVersion: 1,
  firmwareVersion,
  serialNumber: 'S-LATE-ACKS',
  binCount: 1,
  capabilities: capability.ota,
  sampleRateMilliHz: 1_000,
  bootReason,
});

/**
 * A controller whose ACK of every `loseEvery`-th chunk arrives too late (the host has timed out):
 * it took the chunk, so the host's retry of it is out of step and NACKed [SL-OTA-2], and the host
 * resumes from the `received` OTA_BEGIN reports. What a loaded gateway sees.
 */
function lateAckController(loseEvery: number) {
  let received = 0;
  let chunks = 0;
  let version = '1.0.0';
  let next = '';
  const listeners = new Set<(m: OtaStatusMessage | HelloMessage) => void>();
  const status = (state: OtaStatusMessage['state'], lastResult: OtaStatusMessage['lastResult']) => {
    const m: OtaStatusMessage = {
      type: 'ota_status',
      activeSlot: 0,
      state,
      activeVersion: version,
      otherVersion: next,
      received,
      lastResult,
      lastReason: 'none',
    };
    for (const l of listeners) l(m);
  };
  let begins = 0;
  const link: ShelfOtaLink = {
    hello: hello(version, 'power_on'),
    onOta(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async otaRequest(m): Promise<CommandOutcome> {
      if (m.type === 'ota_begin') {
        begins++;
        next = m.version;
        setImmediate(() => status('receiving', 'none'));
        return { status: 'done' };
      }
      if (m.type === 'ota_chunk') {
        if (m.offset !== received) return { status: 'failed', reason: 'NACK invalid_argument' };
        received += m.data.length;
        return ++chunks % loseEvery === 0 ? { status: 'failed', reason: 'timeout' } : { status: 'done' };
      }
      if (m.action === 'commit') {
        setImmediate(() => {
          version = next;
          for (const l of listeners) l(hello(version, 'update'));
          status('idle', 'success');
        });
      }
      return { status: 'done' };
    },
  };
  return { link, begins: () => begins };
}

describe('updateShelf', () => {
  it('goes on through many resumes that each make progress (late ACKs on a loaded gateway)', async () => {
    const image = new Uint8Array(16 * 512).fill(7);
    const manifest = {
      target: 'shelf-controller',
      version: '2.0.0',
      size: image.length,
      sha256: createHash('sha256').update(image).digest('hex'),
    } as FirmwareManifest;
    const c = lateAckController(3);
    const result = await updateShelf(c.link, { manifest, image }, { frameTimeoutMs: 200, retries: 2 });
    expect(result).toMatchObject({ outcome: 'updated', version: '2.0.0' });
    // Five ACKs came late: five resumes, more than `retries` in the whole update.
    expect(c.begins()).toBe(6);
  });

  it('goes on when no chunk ACK comes in time at all, as long as the controller takes them', async () => {
    const image = new Uint8Array(12 * 512).fill(3);
    const manifest = {
      target: 'shelf-controller',
      version: '2.0.0',
      size: image.length,
      sha256: createHash('sha256').update(image).digest('hex'),
    } as FirmwareManifest;
    const c = lateAckController(1);
    const result = await updateShelf(c.link, { manifest, image }, { frameTimeoutMs: 200, retries: 2 });
    expect(result).toMatchObject({ outcome: 'updated', version: '2.0.0' });
    expect(c.begins()).toBe(13);
  });

  it('waits for a link that is down for a moment instead of spending its tries at once', async () => {
    const image = new Uint8Array(2 * 512).fill(5);
    const manifest = {
      target: 'shelf-controller',
      version: '2.0.0',
      size: image.length,
      sha256: createHash('sha256').update(image).digest('hex'),
    } as FirmwareManifest;
    const c = lateAckController(1_000);
    const upAt = Date.now() + 300;
    const flapping: ShelfOtaLink = {
      ...c.link,
      hello: c.link.hello,
      otaRequest: async (m, t) =>
        Date.now() < upAt ? { status: 'failed', reason: 'device not linked' } : c.link.otaRequest(m, t),
    };
    const result = await updateShelf(flapping, { manifest, image }, { frameTimeoutMs: 200, retries: 2 });
    expect(result).toMatchObject({ outcome: 'updated', version: '2.0.0' });
  });

  it('still gives up when resumes stop making progress', async () => {
    const image = new Uint8Array(4 * 512).fill(1);
    const manifest = {
      target: 'shelf-controller',
      version: '2.0.0',
      size: image.length,
      sha256: createHash('sha256').update(image).digest('hex'),
    } as FirmwareManifest;
    const c = lateAckController(1);
    const stuck: ShelfOtaLink = {
      ...c.link,
      hello: c.link.hello,
      // Every chunk NACKed: nothing ever moves.
      otaRequest: async (m) =>
        m.type === 'ota_chunk'
          ? { status: 'failed', reason: 'NACK invalid_argument' }
          : c.link.otaRequest(m, 0),
    };
    const result = await updateShelf(stuck, { manifest, image }, { frameTimeoutMs: 200, retries: 2 });
    expect(result).toMatchObject({ outcome: 'failed', reason: 'chunk at 0: NACK invalid_argument' });
    expect(c.begins()).toBe(3);
  });
});

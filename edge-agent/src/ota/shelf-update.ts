import type { FirmwareManifest } from '@bitv/shared/firmware';
import {
  capability,
  type HelloMessage,
  OTA_MAX_CHUNK,
  type OtaBeginMessage,
  type OtaChunkMessage,
  type OtaEndMessage,
  type OtaStatusMessage,
  otaChunk,
} from '@bitv/shared/shelf-link';
import type { CommandOutcome } from '../drivers/driver.js';

/** What the updater needs from a shelf link (the `ShelfLinkDriver` provides it). */
export interface ShelfOtaLink {
  readonly hello: HelloMessage | undefined;
  otaRequest(
    m: OtaBeginMessage | OtaChunkMessage | OtaEndMessage,
    timeoutMs: number,
  ): Promise<CommandOutcome>;
  onOta(listener: (m: OtaStatusMessage | HelloMessage) => void): () => void;
}

export interface ShelfUpdateOptions {
  chunkBytes: number;
  /** ACK/NACK wait per frame [SL-OTA-1]: 500 ms on the device plus the link. */
  frameTimeoutMs: number;
  commitTimeoutMs: number;
  /** Tries per frame on a timeout, and OTA_BEGINs (resumes) in a row without an ACKed chunk. */
  retries: number;
  /**
   * From the commit's ACK to the final OTA_STATUS: the flush before the reboot (5 s at most), two
   * boots and the health check [SL-OTA-8].
   */
  outcomeTimeoutMs: number;
  onProgress?: (p: { sent: number; size: number }) => void;
}

export const defaultShelfUpdateOptions: ShelfUpdateOptions = {
  chunkBytes: OTA_MAX_CHUNK,
  frameTimeoutMs: 1_500,
  commitTimeoutMs: 3_000,
  retries: 4,
  outcomeTimeoutMs: 30_000,
};

export type ShelfUpdateResult =
  | { outcome: 'updated'; version: string; status?: OtaStatusMessage }
  | {
      outcome: 'rolled_back' | 'refused' | 'failed';
      version: string | undefined;
      reason: string;
      status?: OtaStatusMessage;
    };

class UpdateFailed extends Error {}

/** What the shelf driver answers at once while its link is not up (`ShelfLinkDriver`). */
const linkDownReasons = new Set(['device not linked', 'link down']);

/**
 * Puts a verified release on a shelf controller over the link (docs/shelf-link.md [SL-OTA-1..8]):
 * OTA_BEGIN (resuming where the controller says), checked chunks, commit, then follows the trial
 * boot to its verdict. The caller must have verified the release (`fetchRelease`): this sends
 * whatever it is given.
 */
export async function updateShelf(
  link: ShelfOtaLink,
  release: { manifest: FirmwareManifest; image: Uint8Array },
  options: Partial<ShelfUpdateOptions> = {},
): Promise<ShelfUpdateResult> {
  const o = { ...defaultShelfUpdateOptions, ...options };
  const { manifest, image } = release;
  const hello = link.hello;
  if (!hello) return { outcome: 'failed', version: undefined, reason: 'controller not linked' };
  if ((hello.capabilities & capability.ota) === 0)
    return { outcome: 'refused', version: hello.firmwareVersion, reason: 'controller has no ota capability' };
  if (hello.firmwareVersion === manifest.version) return { outcome: 'updated', version: manifest.version };

  let lastStatus: OtaStatusMessage | undefined;
  let statuses = 0;
  const statusWaiters = new Set<(m: OtaStatusMessage | HelloMessage) => void>();
  const off = link.onOta((m) => {
    if (m.type === 'ota_status') {
      lastStatus = m;
      statuses++;
    }
    for (const w of statusWaiters) w(m);
  });
  /** Resolves with the first frame `accept` takes, or undefined after `timeoutMs`. */
  const waitFor = <T>(accept: (m: OtaStatusMessage | HelloMessage) => T | undefined, timeoutMs: number) =>
    new Promise<T | undefined>((resolve) => {
      const waiter = (m: OtaStatusMessage | HelloMessage) => {
        const v = accept(m);
        if (v === undefined) return;
        finish(v);
      };
      const finish = (v: T | undefined) => {
        statusWaiters.delete(waiter);
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      statusWaiters.add(waiter);
    });

  const request = async (m: OtaBeginMessage | OtaChunkMessage | OtaEndMessage, timeoutMs: number) => {
    for (let attempt = 0; ; attempt++) {
      const outcome = await link.otaRequest(m, timeoutMs);
      if (outcome.status === 'done' || outcome.reason.startsWith('NACK') || attempt >= o.retries)
        return outcome;
      // The link is down (a controller the driver saw stall, a link being reopened): the answer
      // came at once, so give the link a frame timeout to come back before the next try.
      if (linkDownReasons.has(outcome.reason)) await new Promise((r) => setTimeout(r, timeoutMs));
    }
  };

  const begin = async (): Promise<number> => {
    // The status may come with the ACK, before this resumes: counted, the newest one is taken.
    const before = statuses;
    const answer = await request(
      { type: 'ota_begin', size: image.length, sha256: manifest.sha256, version: manifest.version },
      o.frameTimeoutMs,
    );
    if (answer.status === 'failed') throw new UpdateFailed(`OTA_BEGIN: ${answer.reason}`);
    const s =
      statuses > before
        ? lastStatus
        : await waitFor((m) => (m.type === 'ota_status' ? m : undefined), o.frameTimeoutMs * 2);
    if (!s) throw new UpdateFailed('no OTA_STATUS after OTA_BEGIN');
    return s.received;
  };

  try {
    let sent = await begin();
    // Resumes in a row that found the controller no further on. Counted per stretch without
    // progress, not per update: on a loaded gateway an ACK arrives after the timeout, the retry of
    // that chunk is out of step (NACK) though the controller took it, and a whole image can need a
    // resume per chunk, each of which moves on. Bounded: every reset needs bytes the controller took.
    let resumes = 0;
    while (sent < image.length) {
      const data = image.subarray(sent, sent + o.chunkBytes);
      const answer = await request(otaChunk(sent, data), o.frameTimeoutMs);
      if (answer.status === 'done') {
        sent += data.length;
        resumes = 0;
        o.onProgress?.({ sent, size: image.length });
        continue;
      }
      // Out of step (a lost ACK, a controller that rebooted): ask where it is and go on from there.
      if (resumes >= o.retries) throw new UpdateFailed(`chunk at ${sent}: ${answer.reason}`);
      const at = await begin();
      resumes = at > sent ? 0 : resumes + 1;
      sent = at;
      o.onProgress?.({ sent, size: image.length });
    }
    let sawBoot = false;
    const verdict = waitFor((m) => {
      // [SL-OTA-8] the outcome is the first idle status after a boot of this update.
      if (m.type === 'hello') sawBoot ||= m.bootReason === 'update' || m.bootReason === 'rollback';
      else if (sawBoot && m.state === 'idle') return m;
      return undefined;
    }, o.outcomeTimeoutMs);
    const commit = await request({ type: 'ota_end', action: 'commit' }, o.commitTimeoutMs);
    if (commit.status === 'failed') {
      const s = lastStatus;
      return {
        outcome: 'refused',
        version: hello.firmwareVersion,
        reason:
          s && s.lastReason !== 'none' ? `${commit.reason}: ${s.lastResult} ${s.lastReason}` : commit.reason,
        ...(s ? { status: s } : {}),
      };
    }
    const final = await verdict;
    if (!final)
      return {
        outcome: 'failed',
        version: link.hello?.firmwareVersion,
        reason: `no verdict within ${o.outcomeTimeoutMs} ms`,
      };
    if (final.lastResult === 'success' && final.activeVersion === manifest.version)
      return { outcome: 'updated', version: final.activeVersion, status: final };
    return {
      outcome: 'rolled_back',
      version: final.activeVersion,
      reason: `${final.lastResult} ${final.lastReason}`,
      status: final,
    };
  } catch (error) {
    if (!(error instanceof UpdateFailed)) throw error;
    // Leave no half image behind that a later update would have to resume into by accident.
    await link.otaRequest({ type: 'ota_end', action: 'abort' }, o.frameTimeoutMs);
    return { outcome: 'failed', version: link.hello?.firmwareVersion, reason: error.message };
  } finally {
    off();
  }
}

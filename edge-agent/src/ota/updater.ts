import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { FirmwareRejectedError, TrustedKeys } from '@bitv/shared/firmware';
import type { Logger } from '@bitv/shared/log';
import { type ObjectStore, objectStoreFromUrl, openObjectStore } from '@bitv/shared/object-store';
import type { CommandOutcome } from '../drivers/driver.js';
import { fetchRelease, type Release } from './release.js';
import { type ShelfOtaLink, type ShelfUpdateOptions, updateShelf } from './shelf-update.js';

/** Runs a `firmware_update` command for one shelf controller: fetch, prove, transfer, follow. */
export type ShelfFirmwareRunner = (link: ShelfOtaLink, version: string) => Promise<CommandOutcome>;

/**
 * The agent's shelf firmware updater, built once at start from `BV_FIRMWARE_STORE` and
 * `BV_FIRMWARE_PUBLIC_KEYS` (docs/ota.md). Only public keys are here: the agent can check a
 * release, never make one. Releases are cached in `<dataDir>/firmware`.
 */
export function shelfFirmwareRunner(
  settings: { storeUrl: string; publicKeyFiles: readonly string[]; dataDir: string },
  logger: Logger,
  options: Partial<ShelfUpdateOptions> = {},
  store: ObjectStore = openObjectStore(objectStoreFromUrl(settings.storeUrl)),
): ShelfFirmwareRunner {
  const keys = new TrustedKeys(settings.publicKeyFiles.map((f) => readFileSync(f, 'utf8')));
  const dir = `${settings.dataDir}/firmware`;
  // A rollout wave sends one command per shelf and the executor runs each shelf's queue at once:
  // concurrent fetches of one release would append to the same `.part` file. They share one.
  const fetching = new Map<string, Promise<Release>>();
  const fetchOnce = (version: string) => {
    let p = fetching.get(version);
    if (!p) {
      p = fetchRelease(store, keys, 'shelf-controller', version, dir).finally(() => fetching.delete(version));
      fetching.set(version, p);
    }
    return p;
  };
  return async (link, version) => {
    const device = link.hello ? `shelf-${link.hello.serialNumber}` : undefined;
    try {
      await mkdir(dir, { recursive: true });
      const release = await fetchOnce(version);
      logger.info({ device, version, size: release.manifest.size }, 'shelf firmware verified; transferring');
      const result = await updateShelf(link, release, options);
      logger.info({ device, ...result, status: undefined }, 'shelf firmware update finished');
      return result.outcome === 'updated'
        ? { status: 'done' }
        : {
            status: 'failed',
            reason: `${result.outcome === 'rolled_back' ? '' : `${result.outcome}: `}${result.reason}`,
          };
    } catch (error) {
      // A release that fails its checks never reaches the controller; say why.
      if (error instanceof FirmwareRejectedError) {
        logger.warn({ device, version, reason: error.reason }, 'shelf firmware refused before transfer');
        return { status: 'failed', reason: `refused before transfer: ${error.message}` };
      }
      logger.warn({ err: error, device, version }, 'shelf firmware update failed');
      return { status: 'failed', reason: String(error instanceof Error ? error.message : error) };
    }
  };
}

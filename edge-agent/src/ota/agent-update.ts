import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { FirmwareRejectedError, TrustedKeys } from '@bitv/shared/firmware';
import type { Logger } from '@bitv/shared/log';
import { type ObjectStore, objectStoreFromUrl, openObjectStore } from '@bitv/shared/object-store';
import type { CommandOutcome } from '../drivers/driver.js';
import { fetchRelease } from './release.js';
import { currentVersion, installAgentBundle, switchTo } from './self-update.js';

/**
 * Runs an `agent_update` command: fetch and verify the edge-agent release, install it beside the
 * running one, make it current on trial (the command's id goes with it), then ask the supervisor
 * for a restart. Installed, it answers `restarting`: the command stays open and the version that
 * runs after the trial answers it, `done` or `failed: rolled_back <why>` (update-report.ts).
 */
export function agentUpdateRunner(
  settings: { storeUrl: string; publicKeyFiles: readonly string[]; dataDir: string; updateDir: string },
  requestRestart: () => void,
  logger: Logger,
  store: ObjectStore = openObjectStore(objectStoreFromUrl(settings.storeUrl)),
): (version: string, commandId: string) => Promise<CommandOutcome | 'restarting'> {
  const keys = new TrustedKeys(settings.publicKeyFiles.map((f) => readFileSync(f, 'utf8')));
  return async (version, commandId) => {
    if ((await currentVersion(settings.updateDir)) === version) return { status: 'done' };
    try {
      const dir = `${settings.dataDir}/firmware`;
      await mkdir(dir, { recursive: true });
      const release = await fetchRelease(store, keys, 'edge-agent', version, dir);
      await installAgentBundle(settings.updateDir, release);
      await switchTo(settings.updateDir, version, new Date(), commandId);
      logger.info({ version }, 'agent update installed; restarting into it on trial');
      setTimeout(requestRestart, 1_000).unref();
      return 'restarting';
    } catch (error) {
      if (error instanceof FirmwareRejectedError)
        return { status: 'failed', reason: `refused before install: ${error.message}` };
      logger.warn({ err: error, version }, 'agent update failed');
      return { status: 'failed', reason: String(error instanceof Error ? error.message : error) };
    }
  };
}

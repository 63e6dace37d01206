import { mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Release } from './release.js';

/**
 * The edge agent's own updates, on disk (docs/ota.md "Updating the edge agent"):
 *
 * ```
 * <root>/versions/<version>/bitv-edge.mjs   one verified bundle per version, never changed
 * <root>/current -> versions/<version>      what the supervisor starts (swapped by rename)
 * <root>/trial.json                         { version, previous, since }: on trial until healthy
 * <root>/last-update.json                   { version, result, reason, at }: how the last one ended
 * ```
 * The outbox and the rest of the agent's state live in its data dir, outside `root`: a swap or a
 * rollback never touches them.
 */
export const BUNDLE_FILE = 'bitv-edge.mjs';

export interface Trial {
  version: string;
  previous: string | null;
  since: string;
  /** The `agent_update` command that started it: its result waits for the trial's end. */
  commandId?: string;
}

export interface LastUpdate {
  version: string;
  result: 'success' | 'rolled_back';
  reason: string | null;
  at: string;
  /** The trial's command, and whether its result (done, or failed: rolled_back) was handed over. */
  commandId?: string;
  reported?: boolean;
}

const versionDir = (root: string, version: string) => join(root, 'versions', version);

/** Writes a verified bundle into its version folder (temp file, fsync by writeFile, rename). */
export async function installAgentBundle(
  root: string,
  release: Pick<Release, 'manifest' | 'image'>,
): Promise<string> {
  if (release.manifest.target !== 'edge-agent')
    throw new Error(`not an edge-agent release: ${release.manifest.target}`);
  const dir = versionDir(root, release.manifest.version);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${BUNDLE_FILE}.tmp`);
  await writeFile(tmp, release.image, { mode: 0o755 });
  await rename(tmp, join(dir, BUNDLE_FILE));
  return dir;
}

/** The version `current` points at, or null before the first install. */
export async function currentVersion(root: string): Promise<string | null> {
  try {
    return (await readlink(join(root, 'current'))).split('/').pop() ?? null;
  } catch {
    return null; // no `current` link yet: nothing installed
  }
}

/** Points `current` at `version` atomically: a new link beside it, renamed over it. */
async function point(root: string, version: string): Promise<void> {
  const tmp = join(root, `.current-${process.pid}-${Date.now()}`);
  await symlink(join('versions', version), tmp);
  await rename(tmp, join(root, 'current'));
}

/** First install (or a forced one): no trial, nothing to roll back to. */
export async function activate(root: string, version: string): Promise<void> {
  await point(root, version);
  await rm(join(root, 'trial.json'), { force: true });
}

/**
 * Makes `version` current **on trial**: the supervisor restarts the agent into it and rolls back
 * to the version before unless the new agent calls `markHealthy` in time.
 */
export async function switchTo(
  root: string,
  version: string,
  now = new Date(),
  commandId?: string,
): Promise<Trial> {
  const trial: Trial = {
    version,
    previous: await currentVersion(root),
    since: now.toISOString(),
    ...(commandId ? { commandId } : {}),
  };
  await writeFile(join(root, 'trial.json'), JSON.stringify(trial));
  await point(root, version);
  return trial;
}

export async function readTrial(root: string): Promise<Trial | undefined> {
  try {
    return JSON.parse(await readFile(join(root, 'trial.json'), 'utf8')) as Trial;
  } catch {
    return undefined; // no trial running
  }
}

export async function lastUpdate(root: string): Promise<LastUpdate | undefined> {
  try {
    return JSON.parse(await readFile(join(root, 'last-update.json'), 'utf8')) as LastUpdate;
  } catch {
    return undefined; // no update has ended yet
  }
}

/** Called by the new agent once it is up (outbox open, broker connected): the trial is over. */
export async function markHealthy(root: string, version: string, now = new Date()): Promise<boolean> {
  const trial = await readTrial(root);
  if (!trial || trial.version !== version) return false;
  await writeFile(
    join(root, 'last-update.json'),
    JSON.stringify({
      version,
      result: 'success',
      reason: null,
      at: now.toISOString(),
      ...(trial.commandId ? { commandId: trial.commandId } : {}),
    } satisfies LastUpdate),
  );
  await rm(join(root, 'trial.json'), { force: true });
  return true;
}

/** Puts the previous version back after a failed trial, and says why. */
export async function rollBack(root: string, reason: string, now = new Date()): Promise<string | null> {
  const trial = await readTrial(root);
  if (!trial) return null;
  if (trial.previous) await point(root, trial.previous);
  await writeFile(
    join(root, 'last-update.json'),
    JSON.stringify({
      version: trial.version,
      result: 'rolled_back',
      reason,
      at: now.toISOString(),
      ...(trial.commandId ? { commandId: trial.commandId } : {}),
    } satisfies LastUpdate),
  );
  await rm(join(root, 'trial.json'), { force: true });
  return trial.previous;
}

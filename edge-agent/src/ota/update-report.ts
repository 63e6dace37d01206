import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@bitv/shared/log';
import type { CommandStore } from '../outbox/index.js';
import { type LastUpdate, lastUpdate, readTrial } from './self-update.js';

/**
 * The result of an `agent_update` command is known only when its trial ends (docs/ota.md): the
 * version that installed it restarts without answering, the new version keeps the command
 * `running` while on trial, and whichever version runs after the verdict answers it: `done` once
 * healthy, or `failed` with `rolled_back <why>` after the supervisor put the previous version back.
 * A rollout therefore counts a gateway as updated only when the new agent really came up.
 */

/** The command this start continues: the one whose trial is this very version's. */
export async function commandOnTrial(root: string, runningVersion: string): Promise<string | undefined> {
  const trial = await readTrial(root);
  return trial?.version === runningVersion ? trial.commandId : undefined;
}

/**
 * Hands how the last update ended to the command store (published by the uplink like any result),
 * once: `last-update.json` is then marked reported. A crash in between reports it again, which
 * the cloud takes as the repeat it is.
 */
export async function reportAgentUpdate(
  root: string,
  commands: Pick<CommandStore, 'finish'>,
  logger: Logger,
): Promise<LastUpdate | undefined> {
  const last = await lastUpdate(root);
  if (!last?.commandId || last.reported) return undefined;
  if (last.result === 'success') commands.finish(last.commandId, 'done');
  else commands.finish(last.commandId, 'failed', `rolled_back ${last.reason ?? 'unknown'}`);
  await writeFile(join(root, 'last-update.json'), JSON.stringify({ ...last, reported: true }));
  logger[last.result === 'success' ? 'info' : 'warn'](
    { version: last.version, result: last.result, reason: last.reason, commandId: last.commandId },
    'agent update result reported',
  );
  return last;
}

import { commandResultV1, topics } from '@bitv/shared/events';
import { dataOf } from '../consumers.js';
import { cloudDb } from '../db/index.js';
import type { CloudModule, ModuleContext } from '../module.js';
import type { CommandsApi } from './api.js';
import { Commands } from './commands.js';
import { commandRoutes } from './routes.js';

/** How often commands past their expiry are marked expired (a shelf that never answered). */
const commandExpiryMs = 2_000;

/**
 * Device commands down the edge path (tare, calibrate, pick-to-light, reboot, rebirth, ...): stored,
 * published on `bv.commands`, their results followed on `bv.command-results`, lapsed ones expired.
 * Needs the registry (a command's gateway and site).
 */
export async function createCommandsModule(ctx: ModuleContext): Promise<CloudModule> {
  const registry = ctx.apis.registry;
  if (!registry) throw new Error('the commands module needs the registry module');
  const commands = new Commands(cloudDb(ctx.database), ctx.eventLog, ctx.hub, ctx.logger);
  const api: CommandsApi = {
    send: (gatewayId, input) => commands.send(gatewayId, input),
    get: (id) => commands.get(id),
    list: (gatewayId, limit) => commands.list(gatewayId, limit),
    setBinLight: (input) => commands.setBinLight(input),
    setBinLights: (input) => commands.setBinLights(input),
  };
  return {
    name: 'commands',
    routes: commandRoutes({ commands, registry }),
    consumers: [
      {
        group: 'commands',
        topics: [topics.commandResults],
        handle: async (event) => {
          const result = dataOf(commandResultV1, event);
          if (result) await commands.applyResult(result);
        },
      },
    ],
    timers: [
      {
        name: 'command expiry',
        everyMs: commandExpiryMs,
        run: () => commands.expireDue().then(() => undefined),
      },
    ],
    provides: { commands: api },
    services: { commands },
  };
}

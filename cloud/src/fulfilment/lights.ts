import type { Logger } from '@bitv/shared/log';
import type { CommandsApi } from '../commands/api.js';
import type { Light } from './model.js';

export interface LightColours {
  /** `#rrggbb` of a bin to pick from, and of a mis-picked bin. */
  pick: string;
  misPick: string;
  /** Seconds a light command may wait for its shelf before it is reported expired. */
  ttlSeconds: number;
}

export const lightDefaults: LightColours = { pick: '#00ff00', misPick: '#ff0000', ttlSeconds: 30 };

export interface LightChange {
  shelfId: string;
  bin: number;
  light: Light;
}

/**
 * Turns a pick's wanted lights into commands through the commands module (cloud -> bv.commands ->
 * gateway -> DCMD -> agent -> shelf): one group command (`set_leds`) per shelf for every bin of
 * it that changes, which the agent sends to the controller as one COMMAND (docs/shelf-link.md
 * [SL-LED-2]). Starting a list lights each shelf's bins at once, and light-offs decided together
 * go together; shelves are sent to in parallel. A failed send is logged, never thrown: the pick's
 * state is already committed, and the dashboard shows what the shelf acknowledged.
 */
export class PickLights {
  private readonly colours: LightColours;

  constructor(
    private readonly commands: Pick<CommandsApi, 'setBinLights'>,
    private readonly logger: Logger,
    colours: Partial<LightColours> = {},
  ) {
    this.colours = { ...lightDefaults, ...colours };
  }

  /** Sends the changes; returns how many commands went out. */
  async apply(changes: readonly LightChange[], requestedBy: string): Promise<number> {
    const byShelf = new Map<string, LightChange[]>();
    for (const c of changes) byShelf.set(c.shelfId, [...(byShelf.get(c.shelfId) ?? []), c]);
    const sent = await Promise.all(
      [...byShelf].map(async ([shelfId, list]) => {
        try {
          const commands = await this.commands.setBinLights({
            shelfId,
            lights: list.map((c) => ({ bin: c.bin, light: this.setting(c.light) })),
            requestedBy,
            ttlSeconds: this.colours.ttlSeconds,
          });
          return commands.length;
        } catch (error) {
          this.logger.warn(
            { err: error, shelfId, lights: list.map((c) => ({ bin: c.bin, light: c.light })) },
            'pick light command failed',
          );
          return 0;
        }
      }),
    );
    return sent.reduce((a, b) => a + b, 0);
  }

  private setting(light: Light): { color: string; blink: string } | 'off' {
    if (light === 'off') return 'off';
    return light === 'pick'
      ? { color: this.colours.pick, blink: 'steady' }
      : { color: this.colours.misPick, blink: 'fast' };
  }
}

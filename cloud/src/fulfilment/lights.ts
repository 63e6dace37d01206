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
 * Turns a pick's wanted lights into `set_led` commands through the commands module (cloud ->
 * bv.commands -> gateway -> DCMD -> agent -> shelf). The shelf link's `set_led` names one bin (or
 * all, 255) [SL-BIN-1], so a shelf gets one command per bin that changes, in order; shelves are
 * sent to in parallel. A failed send is logged, never thrown: the pick's state is already
 * committed, and the dashboard shows what the shelf acknowledged.
 */
export class PickLights {
  private readonly colours: LightColours;

  constructor(
    private readonly commands: Pick<CommandsApi, 'setBinLight'>,
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
      [...byShelf.values()].map(async (list) => {
        let n = 0;
        for (const c of list) {
          try {
            await this.commands.setBinLight({
              shelfId: c.shelfId,
              bin: c.bin,
              light: this.setting(c.light),
              requestedBy,
              ttlSeconds: this.colours.ttlSeconds,
            });
            n++;
          } catch (error) {
            this.logger.warn(
              { err: error, shelfId: c.shelfId, bin: c.bin, light: c.light },
              'pick light command failed',
            );
          }
        }
        return n;
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

import type { CommandAction } from '@bitv/shared/events';
import type { Command } from '@bitv/shared/shelf-link';

/** `#rrggbb` to the wire's 0xRRGGBB [SL-CMD-1]. */
const ledColor = (hex: string): number => Number.parseInt(hex.slice(1), 16);

/** Maps a platform command to the shelf-link COMMAND, or a reason why the shelf cannot do it. */
export function toLinkCommand(action: CommandAction): Command | string {
  switch (action.action) {
    case 'tare':
      return { op: 'tare', bin: action.bin };
    case 'calibrate':
      return { op: 'calibrate', bin: action.bin, knownWeightDg: Math.round(action.knownWeightG * 10) };
    case 'set_led':
      return { op: 'set_led', bin: action.bin, color: ledColor(action.color), blink: action.blink };
    case 'set_leds':
      return {
        op: 'set_leds',
        leds: action.leds.map((l) => ({ bin: l.bin, color: ledColor(l.color), blink: l.blink })),
      };
    case 'set_sample_rate':
      return { op: 'set_sample_rate', milliHz: Math.round(action.hz * 1000) };
    case 'reboot':
      return { op: 'reboot' };
    case 'identify':
      return { op: 'identify', seconds: action.seconds };
    case 'rebirth':
      return 'rebirth is a node command (NCMD), not a shelf command';
    case 'shadow':
      return 'a shadow delta is a node command (NCMD), not a shelf command';
    case 'agent_update':
      return 'an agent update is a node command (NCMD), not a shelf command';
    case 'firmware_update':
      return 'a firmware update is not one COMMAND: the shelf firmware updater runs it';
  }
}

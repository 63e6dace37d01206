import type { Command, SendCommand } from './commands.js';

/** A bin's pick-to-light: on in a colour and blink pattern, or off. */
export type BinLightSetting = { color: string; blink: string } | 'off';

/** Several bins of one shelf, each on or off: one group command (`set_leds`) per shelf. */
export interface ShelfLightsInput {
  shelfId: string;
  lights: readonly { bin: number; light: BinLightSetting }[];
  requestedBy: string;
  ttlSeconds?: number;
}

/**
 * What the commands module offers other modules: device commands through the edge (stored,
 * published on `bv.commands`, their result followed), and pick-to-light on bins.
 */
export interface CommandsApi {
  /** A command to a gateway (rebirth) or to one of its shelves (`deviceId`). */
  send(gatewayId: string, input: SendCommand): Promise<Command>;
  get(id: string): Promise<Command>;
  /** A gateway's recent commands, newest first. */
  list(gatewayId: string, limit?: number): Promise<Command[]>;
  /**
   * Lights (or turns off) one bin of a shelf, or every bin (`bin` 255), through the shelf's
   * gateway; the bin shows lit on the dashboard once the shelf acknowledges.
   */
  setBinLight(input: {
    shelfId: string;
    bin: number;
    light: BinLightSetting;
    requestedBy: string;
    ttlSeconds?: number;
  }): Promise<Command>;
  /**
   * Lights (or turns off) several bins of one shelf with one command: a `set_leds` DCMD, which the
   * agent sends to the controller as one COMMAND (docs/shelf-link.md [SL-LED-2]); a single bin
   * goes as `set_led`. Returns the commands sent (more than one only past `maxGroupLeds` bins).
   */
  setBinLights(input: ShelfLightsInput): Promise<Command[]>;
}

import type { Command, SendCommand } from './commands.js';

/** A bin's pick-to-light: on in a colour and blink pattern, or off. */
export type BinLightSetting = { color: string; blink: string } | 'off';

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
}

import { commandOpcode, type LedBlink, ledBlink, MAX_GROUP_LEDS, namesByCode } from './constants.js';
import { invalidField, PayloadError, type PayloadReader, type PayloadWriter } from './wire.js';

/**
 * COMMAND, host to device [SL-CMD-1]. The device answers every COMMAND frame with exactly one
 * ACK or NACK that echoes the command frame's sequence number, within `commandTimeoutMs`.
 *
 * ```
 * u8 opcode, then per opcode:
 *   tare             u8 bin (255 = every bin)
 *   calibrate        u8 bin, u32 knownWeightDg (weight now on the bin, 0.1 g)
 *   set_led          u8 bin (255 = every bin), u8 r, u8 g, u8 b, u8 blink (`ledBlink`)
 *   set_sample_rate  u32 milliHz
 *   reboot           (nothing)
 *   identify         u16 seconds (blink every LED white; 0 stops)
 *   request_hello    (nothing): the device sends ACK, then HELLO
 *   set_leds         u8 count (1..128), then count x (u8 bin, u8 r, u8 g, u8 b, u8 blink)
 * ```
 * The codec checks wire ranges only; whether a bin exists or a rate is acceptable is the
 * device's decision (it NACKs with `invalid_bin` / `invalid_argument`).
 */
export type Command =
  | { op: 'tare'; bin: number }
  | { op: 'calibrate'; bin: number; knownWeightDg: number }
  | { op: 'set_led'; bin: number; color: number; blink: LedBlink }
  | { op: 'set_sample_rate'; milliHz: number }
  | { op: 'reboot' }
  | { op: 'identify'; seconds: number }
  | { op: 'request_hello' }
  | { op: 'set_leds'; leds: LedSetting[] };

/** One bin's LED in a `set_leds` [SL-LED-2]: `color` 0xRRGGBB, `blink` off turns it off. */
export interface LedSetting {
  bin: number;
  color: number;
  blink: LedBlink;
}

export interface CommandMessage {
  type: 'command';
  command: Command;
}

const blinks = namesByCode(ledBlink);

export function writeCommand(w: PayloadWriter, m: CommandMessage): void {
  const c = m.command;
  w.code(commandOpcode, c.op, 'opcode');
  switch (c.op) {
    case 'tare':
      w.u8(c.bin, 'bin');
      return;
    case 'calibrate':
      w.u8(c.bin, 'bin');
      w.u32(c.knownWeightDg, 'knownWeightDg');
      return;
    case 'set_led':
      writeLed(w, c);
      return;
    case 'set_leds':
      // [SL-LED-2] one to 128 entries; which bins exist is the device's decision.
      if (c.leds.length < 1 || c.leds.length > MAX_GROUP_LEDS) invalidField('leds', c.leds.length);
      w.u8(c.leds.length, 'leds');
      for (const led of c.leds) writeLed(w, led);
      return;
    case 'set_sample_rate':
      w.u32(c.milliHz, 'milliHz');
      return;
    case 'identify':
      w.u16(c.seconds, 'seconds');
      return;
    case 'reboot':
    case 'request_hello':
      return;
  }
}

function writeLed(w: PayloadWriter, led: LedSetting): void {
  w.u8(led.bin, 'bin');
  if (!Number.isInteger(led.color) || led.color < 0 || led.color > 0xffffff) invalidField('color', led.color);
  w.u8((led.color >>> 16) & 0xff, 'color');
  w.u8((led.color >>> 8) & 0xff, 'color');
  w.u8(led.color & 0xff, 'color');
  w.code(ledBlink, led.blink, 'blink');
}

function readLed(r: PayloadReader): LedSetting {
  const bin = r.u8();
  const color = (r.u8() << 16) | (r.u8() << 8) | r.u8();
  return { bin, color, blink: r.named(blinks, r.u8(), 'blink mode') };
}

/** Throws `PayloadError('malformed')` for an unknown opcode; the device NACKs it `unknown_opcode`. */
export function readCommand(r: PayloadReader): CommandMessage {
  const opcode = r.u8();
  let command: Command;
  switch (opcode) {
    case commandOpcode.tare:
      command = { op: 'tare', bin: r.u8() };
      break;
    case commandOpcode.calibrate:
      command = { op: 'calibrate', bin: r.u8(), knownWeightDg: r.u32() };
      break;
    case commandOpcode.set_led:
      command = { op: 'set_led', ...readLed(r) };
      break;
    case commandOpcode.set_leds: {
      const count = r.u8();
      if (count < 1 || count > MAX_GROUP_LEDS)
        throw new PayloadError('malformed', `set_leds with ${count} entries (1 to ${MAX_GROUP_LEDS})`);
      const leds: LedSetting[] = [];
      for (let i = 0; i < count; i++) leds.push(readLed(r));
      command = { op: 'set_leds', leds };
      break;
    }
    case commandOpcode.set_sample_rate:
      command = { op: 'set_sample_rate', milliHz: r.u32() };
      break;
    case commandOpcode.reboot:
      command = { op: 'reboot' };
      break;
    case commandOpcode.identify:
      command = { op: 'identify', seconds: r.u16() };
      break;
    case commandOpcode.request_hello:
      command = { op: 'request_hello' };
      break;
    default:
      throw new PayloadError('malformed', `unknown command opcode ${opcode}`);
  }
  r.end_();
  return { type: 'command', command };
}

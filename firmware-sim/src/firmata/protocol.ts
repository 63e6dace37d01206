/** Firmata 2.x protocol bytes (https://github.com/firmata/protocol, protocol.md and sysex). */
export const DIGITAL_MESSAGE = 0x90;
export const ANALOG_MESSAGE = 0xe0;
export const REPORT_ANALOG = 0xc0;
export const REPORT_DIGITAL = 0xd0;
export const SET_PIN_MODE = 0xf4;
export const SET_DIGITAL_PIN_VALUE = 0xf5;
export const REPORT_VERSION = 0xf9;
export const SYSTEM_RESET = 0xff;
export const START_SYSEX = 0xf0;
export const END_SYSEX = 0xf7;

export const ANALOG_MAPPING_QUERY = 0x69;
export const ANALOG_MAPPING_RESPONSE = 0x6a;
export const CAPABILITY_QUERY = 0x6b;
export const CAPABILITY_RESPONSE = 0x6c;
export const PIN_STATE_QUERY = 0x6d;
export const PIN_STATE_RESPONSE = 0x6e;
export const REPORT_FIRMWARE = 0x79;
export const SAMPLING_INTERVAL = 0x7a;

export const PIN_MODE = {
  INPUT: 0x00,
  OUTPUT: 0x01,
  ANALOG: 0x02,
  PWM: 0x03,
  PULLUP: 0x0b,
} as const;

export const PROTOCOL_MAJOR = 2;
export const PROTOCOL_MINOR = 5;

/** Bytes of data after a command byte (for the non-sysex commands). */
export function dataLength(command: number): number {
  const high = command & 0xf0;
  if (high === DIGITAL_MESSAGE || high === ANALOG_MESSAGE) return 2;
  if (high === REPORT_ANALOG || high === REPORT_DIGITAL) return 1;
  if (command === SET_PIN_MODE || command === SET_DIGITAL_PIN_VALUE) return 2;
  return 0;
}

/** A 14-bit value as two 7-bit bytes (LSB first), as Firmata sends numbers. */
export function sevenBit(value: number): [number, number] {
  return [value & 0x7f, (value >> 7) & 0x7f];
}

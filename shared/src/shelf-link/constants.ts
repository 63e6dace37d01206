/**
 * Wire constants of the shelf link (docs/shelf-link.md). Numeric codes are what travels on the
 * wire; the names are what the TypeScript messages carry.
 */

/** Frame format version carried in byte 0 of every frame [SL-FRAME-1]. */
export const PROTOCOL_VERSION = 1;

/** Bytes before the payload: version, type, sequence (u16 LE) [SL-FRAME-1]. */
export const HEADER_LENGTH = 4;
/** CRC-16/CCITT-FALSE after the payload, little-endian [SL-FRAME-2]. */
export const CRC_LENGTH = 2;
/** Largest payload a conforming sender produces [SL-FRAME-3]. */
export const MAX_PAYLOAD_LENGTH = 1024;
/** Largest un-stuffed frame: header + payload + CRC. */
export const MAX_FRAME_LENGTH = HEADER_LENGTH + MAX_PAYLOAD_LENGTH + CRC_LENGTH;
/** Largest COBS-encoded frame (one overhead byte per 254 data bytes, plus one). */
export const MAX_ENCODED_LENGTH = MAX_FRAME_LENGTH + Math.ceil(MAX_FRAME_LENGTH / 254) + 1;

/** Most bins one controller reports; bin index 255 means "every bin" in commands [SL-BIN-1]. */
export const MAX_BINS = 128;
export const ALL_BINS = 0xff;
/** Most bins one `set_leds` names [SL-LED-2]: one entry per bin of the largest controller. */
export const MAX_GROUP_LEDS = MAX_BINS;

export const messageType = {
  hello: 0x01,
  readings: 0x02,
  event: 0x03,
  heartbeat: 0x04,
  stored: 0x05,
  command: 0x10,
  ack: 0x11,
  nack: 0x12,
  ota_begin: 0x20,
  ota_chunk: 0x21,
  ota_end: 0x22,
  ota_status: 0x23,
} as const;
export type MessageTypeName = keyof typeof messageType;

export const commandOpcode = {
  tare: 0x01,
  calibrate: 0x02,
  set_led: 0x03,
  set_sample_rate: 0x04,
  reboot: 0x05,
  identify: 0x06,
  request_hello: 0x07,
  /** Several bins' LEDs in one frame; only to a controller with `group_led` [SL-LED-2]. */
  set_leds: 0x08,
} as const;
export type CommandOp = keyof typeof commandOpcode;

/**
 * How long a host waits for the ACK/NACK of each command [SL-CMD-2]. Tare and calibrate wait for
 * a settled reading first, so they get longer.
 */
export const commandTimeoutMs: Readonly<Record<CommandOp, number>> = {
  tare: 3000,
  calibrate: 5000,
  set_led: 500,
  set_sample_rate: 500,
  reboot: 500,
  identify: 500,
  request_hello: 500,
  set_leds: 500,
};

/** Why a device refused a command [SL-CMD-3]. Unknown codes decode as `unspecified`. */
export const nackReason = {
  unspecified: 0x00,
  unknown_opcode: 0x01,
  invalid_bin: 0x02,
  invalid_argument: 0x03,
  not_stable: 0x04,
  cell_fault: 0x05,
  busy: 0x06,
  unsupported: 0x07,
  malformed: 0x08,
} as const;
export type NackReason = keyof typeof nackReason;

export const eventKind = {
  cell_fault: 0x01,
  cell_recovered: 0x02,
  tamper: 0x03,
  overload: 0x04,
  brown_out: 0x05,
} as const;
export type EventKind = keyof typeof eventKind;

export const bootReason = {
  power_on: 0x00,
  command: 0x01,
  watchdog: 0x02,
  brown_out: 0x03,
  /** Into a freshly written slot, on trial until its health check passes [SL-OTA-5]. */
  update: 0x04,
  /** Back into the previous slot after a failed update [SL-OTA-6]. */
  rollback: 0x05,
} as const;
export type BootReason = keyof typeof bootReason;

export const ledBlink = {
  off: 0x00,
  steady: 0x01,
  slow: 0x02,
  fast: 0x03,
} as const;
export type LedBlink = keyof typeof ledBlink;

/** Bits of the HELLO `capabilities` field [SL-HELLO-2]. */
export const capability = {
  led: 0x0001,
  temperature: 0x0002,
  calibration: 0x0004,
  blink: 0x0008,
  identify: 0x0010,
  tamper: 0x0020,
  /** Keeps READINGS until the host says they are stored and replays them [SL-REPLAY-1]. */
  replay: 0x0040,
  /** Takes firmware over the link into an A/B slot (OTA_* messages) [SL-OTA-1]. */
  ota: 0x0080,
  /** Takes `set_leds`, several bins' LEDs in one COMMAND [SL-LED-2]. */
  group_led: 0x0100,
} as const;

/** Largest OTA_CHUNK data a host sends; the device may take less per frame [SL-OTA-3]. */
export const OTA_MAX_CHUNK = 512;

/** OTA_END actions [SL-OTA-4]. */
export const otaAction = { commit: 0x01, abort: 0x02 } as const;
export type OtaAction = keyof typeof otaAction;

/** Where a controller's update stands, in OTA_STATUS [SL-OTA-7]. */
export const otaState = { idle: 0x00, receiving: 0x01, trial: 0x02 } as const;
export type OtaState = keyof typeof otaState;

/** How the last update ended [SL-OTA-7]. */
export const otaResult = {
  none: 0x00,
  success: 0x01,
  rolled_back: 0x02,
  aborted: 0x03,
  refused: 0x04,
} as const;
export type OtaResult = keyof typeof otaResult;

/** Why it ended that way [SL-OTA-7]. Unknown codes read as `unspecified`. */
export const otaReason = {
  none: 0x00,
  health_check: 0x01,
  digest: 0x02,
  boot_failed: 0x03,
  host_abort: 0x04,
  power_loss: 0x05,
  incomplete: 0x06,
  unspecified: 0xff,
} as const;
export type OtaReason = keyof typeof otaReason;

/** Bits of each bin's status byte in READINGS [SL-READ-2]. */
export const binFlag = {
  /** The reading has settled (no motion for the settling window). */
  stable: 0x01,
  /** The load cell does not answer or reads out of range; the weight is meaningless. */
  fault: 0x02,
  /** Load above the cell's rated capacity. */
  overload: 0x04,
} as const;

/** Temperature value meaning "no sensor / not available" [SL-READ-1]. */
export const TEMPERATURE_UNAVAILABLE = -0x8000;

/** Inverse lookup from a `{ name: code }` table. */
export function namesByCode<K extends string>(table: Readonly<Record<K, number>>): ReadonlyMap<number, K> {
  return new Map(Object.entries(table).map(([name, code]) => [code as number, name as K]));
}

import { setting } from '@bitv/shared';

/** Every setting of the `bitv-sim` CLI; each flag overrides its environment variable. */
export const simulatorConfig = {
  scenario: setting.optionalString('BV_SIM_SCENARIO', {
    description: 'Scenario file (JSON or YAML): shelves, bins and a timeline of picks and faults',
  }),
  shelves: setting.int('BV_SIM_SHELVES', {
    default: '1',
    min: 1,
    max: 256,
    description: 'Shelves to simulate without a scenario',
  }),
  bins: setting.int('BV_SIM_BINS', {
    default: '8',
    min: 1,
    max: 128,
    description: 'Bins per shelf without a scenario',
  }),
  seed: setting.int('BV_SIM_SEED', {
    default: '1',
    description: 'Random seed: same seed and timeline, same readings',
  }),
  speed: setting.number('BV_SIM_SPEED', {
    default: '1',
    description: 'Virtual time per wall time (10 = ten times faster)',
  }),
  transport: setting.enum('BV_SIM_TRANSPORT', ['pty', 'tcp'], {
    default: 'pty',
    description: 'pty: socat pseudo-terminals under BV_SIM_DIR; tcp: one TCP port per shelf',
  }),
  dir: setting.string('BV_SIM_DIR', {
    default: '/tmp/bitv-sim',
    description: 'Folder for the pty links; the host opens <dir>/<serialNumber> (and <dir>/firmata)',
  }),
  stateDir: setting.optionalString('BV_SIM_STATE_DIR', {
    description:
      "Keep each shelf's goods, tare, calibration and sample rate in <dir>/<serialNumber>.json across restarts (LEDs always start off); unset = fresh shelves on every start",
  }),
  tcpHost: setting.string('BV_SIM_TCP_HOST', {
    default: '127.0.0.1',
    description: 'Address the TCP shelves listen on',
  }),
  serialPrefix: setting.string('BV_SIM_SERIAL_PREFIX', {
    default: 'SIM',
    description: 'Serial numbers of generated shelves: <prefix>0001, <prefix>0002, ...',
  }),
  firmata: setting.boolean('BV_SIM_FIRMATA', {
    default: 'false',
    description: 'Also simulate a Firmata board (door contact, LED tower)',
  }),
  controlHost: setting.string('BV_SIM_CONTROL_HOST', {
    default: '127.0.0.1',
    description: 'Control API, /healthz and /metrics address',
  }),
  controlPort: setting.int('BV_SIM_CONTROL_PORT', {
    default: '0',
    min: -1,
    max: 65535,
    description: 'Control API port (0 = any free port, printed at start; -1 = none)',
  }),
  picker: setting.boolean('BV_SIM_PICKER', {
    default: 'false',
    description:
      'Run a simulated person who picks from bins lit in the pick colour (#00ff00) and puts back units a red bin asks for',
  }),
  pickerErrorRate: setting.number('BV_SIM_PICKER_ERROR_RATE', {
    default: '0',
    description:
      "Share of the picker's picks that go wrong (the neighbouring bin, or one unit too few), 0 to 1, seeded",
  }),
  pickerReachMs: setting.int('BV_SIM_PICKER_REACH_MS', {
    default: '1200',
    min: 0,
    max: 60_000,
    description: "The picker's mean time from a bin lighting up to its hand in it (ms, +/- 40 %)",
  }),
  logLevel: setting.enum('BV_LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
    default: 'info',
    description: 'Log level',
  }),
};

/** Command-line flags and the variable each one sets. */
export const flags: Record<string, { env: string; boolean?: boolean }> = {
  scenario: { env: 'BV_SIM_SCENARIO' },
  shelves: { env: 'BV_SIM_SHELVES' },
  bins: { env: 'BV_SIM_BINS' },
  seed: { env: 'BV_SIM_SEED' },
  speed: { env: 'BV_SIM_SPEED' },
  dir: { env: 'BV_SIM_DIR' },
  'state-dir': { env: 'BV_SIM_STATE_DIR' },
  tcp: { env: 'BV_SIM_TRANSPORT', boolean: true },
  'tcp-host': { env: 'BV_SIM_TCP_HOST' },
  'serial-prefix': { env: 'BV_SIM_SERIAL_PREFIX' },
  firmata: { env: 'BV_SIM_FIRMATA', boolean: true },
  'control-host': { env: 'BV_SIM_CONTROL_HOST' },
  'control-port': { env: 'BV_SIM_CONTROL_PORT' },
  picker: { env: 'BV_SIM_PICKER', boolean: true },
  'picker-error-rate': { env: 'BV_SIM_PICKER_ERROR_RATE' },
  'picker-reach-ms': { env: 'BV_SIM_PICKER_REACH_MS' },
  'log-level': { env: 'BV_LOG_LEVEL' },
};

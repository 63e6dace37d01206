import { setting } from '@bitv/shared';

/** The HIL suite's settings (read once, where the suite starts). */
export const hilConfig = {
  port: setting.optionalString('HIL_PORT', {
    description:
      'Serial device of a real shelf controller (e.g. /dev/ttyACM0); unset = start the simulator on a pty',
  }),
  baud: setting.int('HIL_BAUD', {
    default: '115200',
    min: 300,
    max: 4_000_000,
    description: 'Baud rate for HIL_PORT',
  }),
  tareBin: setting.int('HIL_TARE_BIN', {
    default: '0',
    min: 0,
    max: 127,
    description: 'Bin the suite tares (its zero is reset to whatever lies on it)',
  }),
  calibrateBin: setting.int('HIL_CAL_BIN', {
    default: '1',
    min: 0,
    max: 127,
    description: 'Bin the suite calibrates; needs a stable load of at least 50 g (restored afterwards)',
  }),
  toleranceG: setting.number('HIL_TOLERANCE_G', {
    default: '2',
    description: 'Allowed deviation of a settled reading, grams (plus 0.5 % of the load)',
  }),
  replugCommand: setting.optionalString('HIL_REPLUG_COMMAND', {
    description:
      'Shell command that power-cycles the device (e.g. uhubctl -a cycle -l 1-1 -p 2); unset = skip the unplug test on hardware',
  }),
  timeoutScale: setting.number('HIL_TIMEOUT_SCALE', {
    default: '0',
    description:
      'Multiplier for the spec command timeouts; 0 = 1 on a device, 4 for the simulator (it shares the CPU with the suite)',
  }),
  simSpeed: setting.number('HIL_SIM_SPEED', {
    default: '4',
    description: 'Simulator speed when no HIL_PORT is set',
  }),
  simSeed: setting.int('HIL_SIM_SEED', {
    default: '20',
    description: 'Simulator seed when no HIL_PORT is set',
  }),
};

/**
 * Simulated shelf controllers (load-cell physics, shelf-link firmware, scripted faults) on
 * pseudo-terminals or TCP, and a simulated Firmata board. See firmware-sim/README.md.
 */
export { Scheduler } from './clock/scheduler.js';
export {
  FIRMATA_PINS,
  type FirmataBoardHandle,
  FirmataFirmware,
  type FirmataSnapshot,
} from './firmata/board.js';
export { buildSimImage, readSimImage, type SimImageHeader } from './ota/index.js';
export { defaultLoadCell, LoadCell, type LoadCellOptions } from './physics/load-cell.js';
export {
  Picker,
  type PickerOptions,
  type PickerStats,
  pickerDefaults,
  type QuantitySource,
} from './picker/picker.js';
export { loadScenarioFile, parseScenario } from './scenario/load.js';
export type { Scenario, ScenarioInput, ScenarioStep } from './scenario/schema.js';
export type { SimulatedShelfHandle } from './shelf/simulated-shelf.js';
export type { LedState, ShelfSnapshot } from './shelf/types.js';
export {
  type Simulation,
  type SimulationDeps,
  type SimulationOptions,
  startSimulation,
} from './simulation.js';

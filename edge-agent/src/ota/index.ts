export { agentUpdateRunner } from './agent-update.js';
export { reportHealthyWhenOnline } from './health.js';
export { defaultFetchOptions, type FetchOptions, fetchRelease, type Release } from './release.js';
export {
  activate,
  BUNDLE_FILE,
  currentVersion,
  installAgentBundle,
  type LastUpdate,
  lastUpdate,
  markHealthy,
  readTrial,
  rollBack,
  switchTo,
  type Trial,
} from './self-update.js';
export {
  defaultShelfUpdateOptions,
  type ShelfOtaLink,
  type ShelfUpdateOptions,
  type ShelfUpdateResult,
  updateShelf,
} from './shelf-update.js';
export {
  AgentSupervisor,
  defaultSupervisorOptions,
  EXIT_RESTART,
  type SupervisorOptions,
} from './supervisor.js';
export { commandOnTrial, reportAgentUpdate } from './update-report.js';
export { type ShelfFirmwareRunner, shelfFirmwareRunner } from './updater.js';

export { startControl } from './control.js';
export {
  FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
  parseHostPort,
  startFaultProxy,
} from './proxy.js';
export {
  parseToxicFlag,
  type Stream,
  type ToxicInput,
  type ToxicSpec,
  type ToxicType,
  toxicSchema,
  toxicTypes,
} from './toxics.js';

export { buildSimImage, readSimImage, type SimImageHeader } from './image.js';
export { defaultOtaOptions, type OtaFirmwareHooks, type OtaOptions, OtaSlots } from './slots.js';

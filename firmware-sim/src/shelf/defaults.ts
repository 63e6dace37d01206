import { demoCatalogue } from '@bitv/shared/catalogue';
import type { Random } from '@bitv/shared/random';
import type { LoadCellOptions } from '../physics/load-cell.js';
import type { ShelfSpec } from '../scenario/schema.js';
import type { ShelfOptions } from './types.js';

/** Typical goods on a warehouse shelf, grams per unit (the cloud's demo seed names them): the seed picks from these. */
const CATALOGUE_G = demoCatalogue.map((p) => p.unitWeightG);

export const FIRMWARE_VERSION = '1.4.2';

/** A shelf's full options from its scenario entry, filling what the entry leaves out from the seed. */
export function shelfOptionsFrom(
  spec: ShelfSpec,
  index: number,
  random: Random,
  serialPrefix: string,
  replay = true,
): ShelfOptions {
  // Drawn only for seeded bins, so a scenario that lists its bins keeps its random sequence.
  const start = typeof spec.bins === 'number' ? random.int(0, CATALOGUE_G.length - 1) : 0;
  const bins: Partial<LoadCellOptions>[] =
    typeof spec.bins === 'number'
      ? Array.from({ length: spec.bins }, (_, bin) => {
          // Neighbouring bins hold different goods (a run of the catalogue from a random start);
          // another shelf may hold the same product, with the same unit weight.
          const unitWeightG = CATALOGUE_G[(start + bin) % CATALOGUE_G.length]!;
          return { unitWeightG, count: random.int(5, Math.max(6, Math.floor(12_000 / unitWeightG))) };
        })
      : spec.bins.map((b) => ({ ...b }));
  return {
    serialNumber: spec.serialNumber ?? `${serialPrefix}${String(index + 1).padStart(4, '0')}`,
    firmwareVersion: spec.firmwareVersion ?? FIRMWARE_VERSION,
    bins,
    sampleRateHz: spec.sampleRateHz ?? 10,
    temperatureC: spec.temperatureC === undefined ? 21 : spec.temperatureC,
    bootMs: 250,
    heartbeatMs: 1000,
    replay: spec.replay ?? replay,
  };
}

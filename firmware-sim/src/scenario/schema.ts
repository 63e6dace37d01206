import { SERIAL_NUMBER_PATTERN } from '@bitv/shared/shelf-link';
import { z } from 'zod';

/**
 * A scenario file (JSON or YAML): the shelves to simulate and a timeline of things that happen
 * to them. Times are virtual milliseconds since the simulation started. See firmware-sim/README.md.
 */
const binSpec = z
  .object({
    unitWeightG: z.number().positive().max(100_000),
    count: z.number().int().min(0).max(100_000),
    trayWeightG: z.number().min(0).max(100_000).optional(),
    capacityG: z.number().positive().max(1_000_000).optional(),
    noiseG: z.number().min(0).max(1000).optional(),
    driftG: z.number().min(0).max(1000).optional(),
    settleMs: z.number().positive().max(60_000).optional(),
  })
  .strict();

const shelfSpec = z
  .object({
    serialNumber: z.string().regex(SERIAL_NUMBER_PATTERN).optional(),
    firmwareVersion: z
      .string()
      .regex(/^[\x21-\x7e]{1,16}$/)
      .optional(),
    /** The bins, or just how many (unit weights then come from the seed). */
    bins: z.union([z.array(binSpec).min(1).max(128), z.number().int().min(1).max(128)]),
    sampleRateHz: z.number().min(0.1).max(100).optional(),
    temperatureC: z.number().min(-40).max(85).nullable().optional(),
    /** Announce `replay` (keep readings until stored); default: the simulation's `replay`. */
    replay: z.boolean().optional(),
  })
  .strict();

/** Which shelf an entry targets: its index or serial number; omitted = every shelf. */
const target = z.union([z.number().int().min(0), z.string()]).optional();
const at = z.number().min(0);

const step = z.discriminatedUnion('do', [
  z
    .object({
      at,
      shelf: target,
      do: z.literal('pick'),
      bin: z.number().int().min(0),
      count: z.number().int().min(1),
      handMs: z.number().min(0).optional(),
    })
    .strict(),
  z
    .object({
      at,
      shelf: target,
      do: z.literal('restock'),
      bin: z.number().int().min(0),
      count: z.number().int().min(1),
      handMs: z.number().min(0).optional(),
    })
    .strict(),
  z
    .object({
      at,
      shelf: target,
      do: z.literal('dead_cell'),
      bin: z.number().int().min(0),
      durationMs: z.number().positive().optional(),
    })
    .strict(),
  z
    .object({ at, shelf: target, do: z.literal('garbage'), bytes: z.number().int().min(1).max(65_536) })
    .strict(),
  z.object({ at, shelf: target, do: z.literal('cut_frame') }).strict(),
  z.object({ at, shelf: target, do: z.literal('stall'), durationMs: z.number().positive() }).strict(),
  z
    .object({ at, shelf: target, do: z.literal('unplug'), durationMs: z.number().positive().optional() })
    .strict(),
  z.object({ at, shelf: target, do: z.literal('replug') }).strict(),
  z.object({ at, shelf: target, do: z.literal('clock_jump'), deltaMs: z.number().int() }).strict(),
  z
    .object({
      at,
      shelf: target,
      do: z.literal('brown_out'),
      millivolts: z.number().int().min(0).max(20_000).optional(),
    })
    .strict(),
  z.object({ at, shelf: target, do: z.literal('tamper'), bin: z.number().int().min(0).optional() }).strict(),
]);

export const scenarioSchema = z
  .object({
    seed: z.number().int().optional(),
    speed: z.number().positive().max(10_000).optional(),
    shelves: z.array(shelfSpec).min(1).max(256),
    timeline: z.array(step).default([]),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ScenarioStep = z.infer<typeof step>;
export type ShelfSpec = z.infer<typeof shelfSpec>;
export type BinSpec = z.infer<typeof binSpec>;

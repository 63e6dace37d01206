import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

const id = z.string().min(1).max(128);
/** A bin as a JSON object key: 0..254 (255 is the shelf link's "every bin"). */
const binKey = z.string().regex(/^(25[0-4]|2[0-4]\d|1\d\d|[1-9]?\d)$/);

/**
 * A shadow document travels inside one `command/json` (4,096 bytes at the agent by default) and
 * its parts are reported back as Sparkplug string metrics (1,000 characters each, the generic
 * metrics bound), so both the whole document and each section are bounded.
 */
export const maxShadowDocumentBytes = 3_000;
export const maxShadowSectionChars = 1_000;
export const maxShadowShelves = 64;

const ledDefault = z
  .object({
    color: z.string().regex(/^#[0-9a-fA-F]{6}$/),
    blink: z.enum(['off', 'steady', 'slow', 'fast']),
  })
  .strict();

const thresholds = z
  .object({
    temperatureMinC: z.number().min(-100).max(200),
    temperatureMaxC: z.number().min(-100).max(200),
  })
  .partial()
  .strict();

/** Settings a gateway holds for all its shelves (a shelf's own section overrides them). */
export const gatewayShadowSettings = z
  .object({
    sampleRateHz: z.number().positive().max(1000),
    ledDefault,
    thresholds,
  })
  .partial()
  .strict();

/**
 * One shelf's settings. `tare` maps a bin ("0".."254") to a tare generation: the agent tares the
 * bin once each time the desired generation goes past the one it applied, so a tare is state
 * ("this bin has been tared N times") that survives a reconnect rather than a one-shot command.
 */
export const shelfShadowSettings = gatewayShadowSettings
  .extend({
    tare: z.record(binKey, z.number().int().min(0)),
  })
  .partial()
  .strict();

/** The desired or reported state of one gateway and its shelves. */
export const shadowDocument = z
  .object({
    gateway: gatewayShadowSettings,
    shelves: z.record(id, shelfShadowSettings).refine((s) => Object.keys(s).length <= maxShadowShelves, {
      message: `at most ${maxShadowShelves} shelves in a shadow`,
    }),
  })
  .partial()
  .strict();

/**
 * The NCMD that carries a shadow delta down: an RFC 7396 merge patch from the reported state of
 * version `baseVersion` to the desired state of version `version`. An agent whose own version is
 * not `baseVersion` refuses it (and reports what it has) rather than patch a state it does not hold.
 */
export const shadowCommand = z.object({
  action: z.literal('shadow'),
  version: z.number().int().min(1),
  baseVersion: z.number().int().min(0),
  delta: z.record(z.string(), z.unknown()),
});

export const shadowDesiredChangedV1 = defineEvent({
  type: 'bv.shadow.desired-changed.v1',
  topic: topics.shadows,
  description: "A gateway shadow's desired state changed (a new version)",
  schema: z.object({
    siteId: id,
    gatewayId: id,
    version: z.number().int().min(1),
    desired: shadowDocument,
    changedBy: z.string().max(200),
  }),
});

export const shadowReportedV1 = defineEvent({
  type: 'bv.shadow.reported.v1',
  topic: topics.shadows,
  description: 'A gateway reported the shadow version and state it has applied',
  schema: z.object({
    siteId: id,
    gatewayId: id,
    version: z.number().int().min(0),
    reported: shadowDocument,
    /** True when desired and reported agree (the delta is empty). */
    inSync: z.boolean(),
  }),
});

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7396 JSON merge patch: objects merge key by key, `null` removes a key, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): Json {
  if (!isObject(patch)) return patch as Json;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * The merge patch that turns `from` into `to` (empty when they agree): what the agent still has to
 * apply, which the shadow's REST `delta` shows and the NCMD carries down.
 */
export function diffPatch(from: unknown, to: unknown): JsonObject {
  const a = isObject(from) ? from : {};
  const b = isObject(to) ? to : {};
  const out: JsonObject = {};
  for (const key of Object.keys(a)) if (!(key in b)) out[key] = null;
  for (const [key, value] of Object.entries(b)) {
    const old = a[key];
    if (isObject(value) && isObject(old)) {
      const inner = diffPatch(old, value);
      if (Object.keys(inner).length > 0) out[key] = inner;
    } else if (!sameJson(old, value)) out[key] = value;
  }
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Drops empty objects a patch left behind (`{ shelves: { s1: {} } }` says nothing). */
export function pruneEmpty(value: Json): Json {
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    const pruned = pruneEmpty(v);
    if (isObject(pruned) && Object.keys(pruned).length === 0) continue;
    out[key] = pruned;
  }
  return out;
}

/** The Sparkplug node metrics that carry an agent's reported shadow (NBIRTH and NDATA). */
export const shadowMetricNames = {
  version: 'shadow/version',
  gateway: 'shadow/gateway',
  /** `shadow/shelf/<shelf id>`: one string metric per shelf, each bounded by maxShadowSectionChars. */
  shelfPrefix: 'shadow/shelf/',
} as const;

export type ShadowDocument = z.infer<typeof shadowDocument>;
export type GatewayShadowSettings = z.infer<typeof gatewayShadowSettings>;
export type ShelfShadowSettings = z.infer<typeof shelfShadowSettings>;
export type ShadowCommand = z.infer<typeof shadowCommand>;
export type ShadowDesiredChanged = z.infer<typeof shadowDesiredChangedV1.schema>;
export type ShadowReported = z.infer<typeof shadowReportedV1.schema>;

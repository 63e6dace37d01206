import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

const id = z.string().min(1).max(128);

/**
 * Readings of a device that will never arrive, announced by the edge agent (Sparkplug NDATA
 * `outbox/gap/*`, see docs/sparkplug.md) so consumers can tell "dropped" from "late".
 */
export const telemetryGapV1 = defineEvent({
  type: 'bv.telemetry.gap.v1',
  topic: topics.telemetry,
  description: 'Readings an edge agent dropped (outbox limit) or never received (shelf link)',
  schema: z.object({
    groupId: id,
    edgeNodeId: id,
    deviceId: id,
    /** `dropped`: outbox seqs fromSeq..toSeq were dropped at a capacity limit; `link`: shelf-link
     * frames fromSeq..toSeq (link sequence numbers) were never received by the agent, or, with
     * reason `readings not replayed (device time ms)`, the readings of a replay shelf sampled at
     * device times fromSeq..toSeq (ms) were gone before it could replay them. */
    kind: z.enum(['dropped', 'link']),
    reason: z.string().max(200),
    fromSeq: z.number().int().nonnegative(),
    toSeq: z.number().int().nonnegative(),
    count: z.number().int().positive(),
  }),
});

export type TelemetryGap = z.infer<typeof telemetryGapV1.schema>;

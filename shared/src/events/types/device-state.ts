import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

const id = z.string().min(1).max(128);

export const deviceStateV1 = defineEvent({
  type: 'bv.device-state.changed.v1',
  topic: topics.deviceState,
  description: 'An edge node or one of its devices was born, died or reported its health',
  schema: z.object({
    groupId: id,
    edgeNodeId: id,
    /** Absent for the edge node itself (NBIRTH/NDEATH). */
    deviceId: id.optional(),
    /** The Sparkplug message that caused the change. */
    kind: z.enum(['NBIRTH', 'NDEATH', 'DBIRTH', 'DDEATH', 'NDATA']),
    online: z.boolean(),
    bdSeq: z.number().int().nonnegative().optional(),
    firmware: z.string().max(64).optional(),
    serialNumber: z.string().max(64).optional(),
    binCount: z.number().int().min(0).max(255).optional(),
    /** Edge agent health, reported in NBIRTH/NDATA. */
    queueDepth: z.number().int().nonnegative().optional(),
    oldestUnsentMs: z.number().int().nonnegative().optional(),
    metrics: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).optional(),
  }),
});

export type DeviceState = z.infer<typeof deviceStateV1.schema>;

import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

/** A gateway credential was revoked; brokers add its `jti` to their deny-list and drop the session. */
export const credentialRevokedV1 = defineEvent({
  type: 'bv.registry.credential-revoked.v1',
  topic: topics.registry,
  description: 'A gateway credential was revoked (rotation or decommissioning)',
  schema: z.object({
    edgeNodeId: z.string().min(1).max(128),
    jti: z.string().min(1),
    /** The credential's own expiry: the deny-list entry can be forgotten after it. */
    expiresAt: z.string().datetime({ offset: true }),
  }),
});

export type CredentialRevoked = z.infer<typeof credentialRevokedV1.schema>;

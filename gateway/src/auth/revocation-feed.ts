import type { EventLog, Subscription } from '@bitv/shared/event-log';
import { type BvEvent, credentialRevokedV1, topics } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import type { RevocationList } from './revocations.js';

export interface RevocationFeedOptions {
  eventLog: EventLog;
  revocations: RevocationList;
  /** Unique per process start: every node reads the whole topic to rebuild its deny-list. */
  group: string;
  onRevoked: (jti: string, edgeNodeId: string) => void;
  logger: Logger;
}

/** Reads `credentialRevokedV1` from bv.registry into the deny-list and drops sessions using the token. */
export function startRevocationFeed(options: RevocationFeedOptions): Promise<Subscription> {
  const { revocations, logger } = options;
  return options.eventLog.subscribe({
    group: options.group,
    topics: [topics.registry],
    fromBeginning: true,
    handler: async (event: BvEvent) => {
      if (event.type !== credentialRevokedV1.type) return;
      const parsed = credentialRevokedV1.schema.safeParse(event.data);
      if (!parsed.success) {
        logger.warn({ id: event.id }, 'invalid revocation event ignored');
        return;
      }
      const r = parsed.data;
      revocations.add(r.jti, Date.parse(r.expiresAt));
      options.onRevoked(r.jti, r.edgeNodeId);
    },
  });
}

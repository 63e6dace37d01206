import { z } from 'zod';
import type { DatabaseOptions } from '../db/index.js';
import { createEvent, defineEvent, type EventDefinition } from '../events/index.js';
import type { EventLogOptions } from './create.js';

/**
 * Shared by the contract suite and its child-process fixture (no vitest import here): the test
 * event type and how a child opens the same log as the suite.
 */
export const contractSchema = z.object({ key: z.string().min(1), n: z.number().int().nonnegative() });
export type ContractData = z.infer<typeof contractSchema>;

export function contractEvent(topic: string): EventDefinition<ContractData> {
  return defineEvent({
    type: `bv.contract.${topic}.v1`,
    topic,
    schema: contractSchema,
    description: 'event-log contract test event',
  });
}

export function makeEvent(definition: EventDefinition<ContractData>, key: string, n: number) {
  return createEvent(definition, { source: 'bv://contract', key, data: { key, n } });
}

/** JSON-serialisable: how another process opens the log under test. */
export interface ChildLogConfig {
  kafka?: EventLogOptions['kafka'];
  database?: DatabaseOptions;
  databaseLog?: EventLogOptions['databaseLog'];
}

/** What the child fixture gets as its one argument. */
export interface ChildArgs {
  log: ChildLogConfig;
  topic: string;
  group: string;
}

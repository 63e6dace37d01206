import { randomUUID } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import type { z } from 'zod';
import { ValidationError } from '../errors/index.js';

/**
 * Every record on the event log is a CloudEvents 1.0 event (the SDK's `CloudEvent`). The key that
 * orders events (gateway id for telemetry) travels in the `partitionkey` extension, as the
 * CloudEvents Kafka binding prescribes for the record key.
 */
export type BvEvent<T = unknown> = CloudEvent<T> & { partitionkey: string };

/**
 * A versioned event type. An incompatible change to `schema` is a new definition with a new
 * `type` (`...v2`), never an edit of this one: consumers keep reading old records.
 */
export interface EventDefinition<T> {
  type: string;
  topic: string;
  schema: z.ZodType<T>;
  description: string;
}

export function defineEvent<T>(definition: EventDefinition<T>): EventDefinition<T> {
  if (!/\.v\d+$/.test(definition.type))
    throw new Error(`event type ${definition.type} must end in .v<version>`);
  return definition;
}

export interface NewEvent<T> {
  source: string;
  key: string;
  data: T;
  subject?: string;
  id?: string;
  time?: Date | string;
}

/** Builds an event of a known type, refusing data that does not fit its schema. */
export function createEvent<T>(definition: EventDefinition<T>, init: NewEvent<T>): BvEvent<T> {
  // zod's copy of the data: the caller's objects are never frozen
  return build(definition, init, parseData(definition, definition.schema, init.data) as T);
}

/**
 * Builds an event from data assembled out of parts that were each held to the definition's schema
 * when they were made (the bridge's readings, checked one by one as they are decoded, a check
 * tested against the schema): `frame` checks everything else, so the hot path does not parse each
 * reading twice. The data itself is frozen, so it must belong to the caller alone.
 */
export function assembleEvent<T>(
  definition: EventDefinition<T>,
  init: NewEvent<T>,
  frame: z.ZodType,
): BvEvent<T> {
  parseData(definition, frame, init.data);
  return build(definition, init, init.data);
}

function parseData(definition: EventDefinition<unknown>, schema: z.ZodType, data: unknown): unknown {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new ValidationError(`${definition.type}: ${parsed.error.issues.map(formatIssue).join('; ')}`, {
      details: { type: definition.type, issues: parsed.error.issues },
    });
  }
  return parsed.data;
}

function build<T>(definition: EventDefinition<T>, init: NewEvent<T>, data: T): BvEvent<T> {
  const time = init.time === undefined ? new Date().toISOString() : new Date(init.time).toISOString();
  const event = new CloudEvent<T>({
    specversion: '1.0',
    id: init.id ?? randomUUID(),
    source: init.source,
    type: definition.type,
    subject: init.subject,
    time,
    datacontenttype: 'application/json',
    partitionkey: init.key,
    data: deepFreeze(data),
  }) as BvEvent<T>;
  checkedAgainst.set(event, definition as EventDefinition<unknown>);
  return event;
}

/** Freezes the event's data all the way down (no arrays of keys or values: this runs per reading). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (Array.isArray(value)) for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
    else for (const key in value) deepFreeze(value[key]);
  }
  return value;
}

/**
 * Events built by `createEvent` were checked against their definition when built, and they are
 * frozen to the leaves (the SDK freezes the event, `deepFreeze` its data), so they cannot have changed since: the registry need not parse their data
 * again at publish (the bridge's hot path). Events from anywhere else are parsed in full.
 */
const checkedAgainst = new WeakMap<object, EventDefinition<unknown>>();

export function wasCheckedAgainst(event: BvEvent, definition: EventDefinition<unknown>): boolean {
  return checkedAgainst.get(event) === definition;
}

export function formatIssue(issue: z.core.$ZodIssue): string {
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

/** The event's structured JSON form (CloudEvents JSON format), as stored by the database log. */
export function eventToJson(event: BvEvent): Record<string, unknown> {
  const json = event.toJSON() as Record<string, unknown>;
  for (const k of Object.keys(json)) if (json[k] === undefined) delete json[k];
  return json;
}

/** Rebuilds an event from its structured JSON form; refuses anything that is not a CloudEvent. */
export function eventFromJson(json: unknown): BvEvent {
  if (!json || typeof json !== 'object') throw new ValidationError('event is not an object');
  const attrs = json as Record<string, unknown>;
  if (typeof attrs.partitionkey !== 'string') throw new ValidationError('event has no partitionkey');
  try {
    return new CloudEvent(attrs) as BvEvent;
  } catch (error) {
    throw new ValidationError(`not a valid CloudEvent: ${String(error)}`, { cause: error });
  }
}

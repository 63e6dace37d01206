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
  return build(definition, init, deepFreeze(parseData(definition, init.data) as T), true);
}

/**
 * Builds an event from data its producer held to the definition's schema at its own border, part
 * by part, with checks tested against that schema (the gateway's readings, checked one by one as
 * they are decoded; their ids by the topic parser; their count by the bridge): no schema parse, no
 * SDK re-check of the attributes and no freeze of the data, which all ran per record on the
 * bridge's hot path. The attributes must be valid as given (an id, a URI-reference source), and
 * nothing may change the data from here on: the registry takes the event as checked at publish.
 * Anything built from outside input uses `createEvent`.
 */
export function trustedEvent<T>(
  definition: EventDefinition<T>,
  init: NewEvent<T> & { id: string },
): BvEvent<T> {
  return build(definition, init, init.data, false);
}

function parseData(definition: EventDefinition<unknown>, data: unknown): unknown {
  const parsed = definition.schema.safeParse(data);
  if (!parsed.success) {
    throw new ValidationError(`${definition.type}: ${parsed.error.issues.map(formatIssue).join('; ')}`, {
      details: { type: definition.type, issues: parsed.error.issues },
    });
  }
  return parsed.data;
}

/** `strict`: the SDK checks the attributes too (a caller's source, id and time). */
function build<T>(definition: EventDefinition<T>, init: NewEvent<T>, data: T, strict: boolean): BvEvent<T> {
  const time = init.time === undefined ? new Date().toISOString() : new Date(init.time).toISOString();
  const event = new CloudEvent<T>(
    {
      specversion: '1.0',
      id: init.id ?? randomUUID(),
      source: init.source,
      type: definition.type,
      subject: init.subject,
      time,
      datacontenttype: 'application/json',
      partitionkey: init.key,
      data,
    },
    strict,
  ) as BvEvent<T>;
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
 * frozen to the leaves (the SDK freezes the event, `deepFreeze` its data), so they cannot have
 * changed since; `trustedEvent`'s were checked by their producer, which changes nothing after.
 * The registry need not parse their data again at publish. Events from anywhere else are parsed
 * in full.
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

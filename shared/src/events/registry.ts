import { ValidationError } from '../errors/index.js';
import { type BvEvent, type EventDefinition, formatIssue, wasCheckedAgainst } from './envelope.js';

/**
 * The event types a process knows. Publishing checks an event against its definition (so a bad
 * event is refused at the producer with a clear error); consuming checks again, because records
 * come from outside the process.
 */
export class EventRegistry {
  private readonly byType = new Map<string, EventDefinition<unknown>>();

  constructor(definitions: Iterable<EventDefinition<unknown>> = []) {
    for (const d of definitions) this.register(d);
  }

  register(definition: EventDefinition<unknown>): this {
    const existing = this.byType.get(definition.type);
    if (existing && existing !== definition)
      throw new Error(`event type ${definition.type} registered twice`);
    this.byType.set(definition.type, definition);
    return this;
  }

  get(type: string): EventDefinition<unknown> | undefined {
    return this.byType.get(type);
  }

  /** Throws a ValidationError when the event's type is unknown, its topic is wrong or its data does not fit. */
  validate(event: BvEvent, topic?: string): void {
    const definition = this.byType.get(event.type);
    if (!definition) throw new ValidationError(`unknown event type ${event.type}`);
    if (topic !== undefined && definition.topic !== topic && !topic.endsWith('.dlq')) {
      throw new ValidationError(`event type ${event.type} belongs on ${definition.topic}, not ${topic}`);
    }
    if (wasCheckedAgainst(event, definition)) return;
    const parsed = definition.schema.safeParse(event.data);
    if (!parsed.success) {
      throw new ValidationError(`${event.type}: ${parsed.error.issues.map(formatIssue).join('; ')}`, {
        details: { type: event.type, issues: parsed.error.issues },
      });
    }
  }
}

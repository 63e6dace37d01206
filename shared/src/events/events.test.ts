import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../errors/index.js';
import {
  commandRequestedV1,
  createEvent,
  defineEvent,
  eventFromJson,
  eventToJson,
  platformEvents,
  telemetryReadingsV1,
  topics,
  trustedEvent,
  wasCheckedAgainst,
} from './index.js';

const readings = {
  groupId: 'demo-site',
  edgeNodeId: 'gw-1',
  deviceId: 'shelf-A1',
  historical: false,
  readings: [
    { seq: 1, time: '2026-11-21T10:00:00.000Z', bins: [{ bin: 0, weightG: 1234.5 }], temperatureC: 21.5 },
  ],
};

describe('CloudEvents envelope', () => {
  it('builds a CloudEvents 1.0 event with the key in partitionkey', () => {
    const event = createEvent(telemetryReadingsV1, { source: '/gateways/gw-1', key: 'gw-1', data: readings });
    expect(event.specversion).toBe('1.0');
    expect(event.type).toBe('bv.telemetry.readings.v1');
    expect(event.partitionkey).toBe('gw-1');
    expect(event.datacontenttype).toBe('application/json');
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses data that does not fit the schema, naming the field', () => {
    const bad = { ...readings, readings: [{ ...readings.readings[0], seq: -1 }] };
    expect(() => createEvent(telemetryReadingsV1, { source: '/x', key: 'k', data: bad })).toThrow(
      ValidationError,
    );
    expect(() => createEvent(telemetryReadingsV1, { source: '/x', key: 'k', data: bad })).toThrow(
      /readings\.0\.seq/,
    );
  });

  it("takes a trusted producer's data as it is: marked checked, not parsed, copied or frozen", () => {
    const data = structuredClone(readings);
    const event = trustedEvent(telemetryReadingsV1, { id: 'id-1', source: '/x', key: 'gw-1', data });
    expect(event.data).toBe(data);
    expect(event.partitionkey).toBe('gw-1');
    expect(wasCheckedAgainst(event, telemetryReadingsV1)).toBe(true);
    expect(Object.isFrozen(data.readings[0]!.bins[0])).toBe(false);
    // the event itself is frozen as the SDK freezes every event
    expect(Object.isFrozen(event)).toBe(true);
    // the registry does not parse it again: what the producer vouched for goes out as it is
    expect(() => platformEvents().validate(event, topics.telemetry)).not.toThrow();
    expect(() => platformEvents().validate(event, topics.commands)).toThrow(ValidationError);
  });

  it('round-trips through its JSON form', () => {
    const event = createEvent(telemetryReadingsV1, { source: '/gateways/gw-1', key: 'gw-1', data: readings });
    const back = eventFromJson(JSON.parse(JSON.stringify(eventToJson(event))));
    expect(back.id).toBe(event.id);
    expect(back.partitionkey).toBe('gw-1');
    expect(back.data).toEqual(readings);
  });

  it('refuses JSON that is not an event', () => {
    expect(() => eventFromJson({ hello: 'world', partitionkey: 'k' })).toThrow(ValidationError);
    expect(() => eventFromJson(null)).toThrow(ValidationError);
  });

  it('requires a version suffix on every event type', () => {
    expect(() => defineEvent({ type: 'bv.thing', topic: 't', schema: z.string(), description: '' })).toThrow(
      /\.v<version>/,
    );
  });
});

describe('EventRegistry', () => {
  it('validates type, topic and data', () => {
    const registry = platformEvents();
    const event = createEvent(telemetryReadingsV1, { source: '/x', key: 'gw-1', data: readings });
    expect(() => registry.validate(event, topics.telemetry)).not.toThrow();
    expect(() => registry.validate(event, topics.commands)).toThrow(/belongs on bv.telemetry/);
    const command = createEvent(commandRequestedV1, {
      source: '/x',
      key: 'gw-1',
      data: {
        commandId: '3f1c7a58-64b8-4d43-9a53-0c1e3c8a6b21',
        groupId: 'g',
        edgeNodeId: 'gw-1',
        command: { action: 'tare', bin: 2 },
        expiresAt: '2026-11-21T10:00:00Z',
      },
    });
    expect(() => registry.validate(command, topics.commands)).not.toThrow();
    // Events are immutable; a record from outside with bad data arrives through eventFromJson.
    const forged = eventFromJson({ ...eventToJson(command), data: { commandId: 'nope' } });
    expect(() => registry.validate(forged)).toThrow(ValidationError);
    expect(() =>
      registry.validate(eventFromJson({ ...eventToJson(command), type: 'bv.unknown.v1' })),
    ).toThrow(/unknown event type/);
  });
});

describe('events built by createEvent', () => {
  it('are frozen to the leaves, so their checked data cannot change before publish', () => {
    const event = createEvent(telemetryReadingsV1, { source: '/x', key: 'gw-1', data: readings });
    expect(() => {
      (event.data!.readings[0] as { seq: number }).seq = -1;
    }).toThrow(TypeError);
    expect(event.data!.readings[0]?.seq).toBe(1);
    expect(() => platformEvents().validate(event, topics.telemetry)).not.toThrow();
  });

  it('leave the caller’s own objects unfrozen', () => {
    const data = structuredClone(readings);
    createEvent(telemetryReadingsV1, { source: '/x', key: 'gw-1', data });
    expect(Object.isFrozen(data.readings[0])).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../errors/index.js';
import { contractEvent, makeEvent } from '../contract-events.js';
import { fromKafkaMessage, headerStrings, toKafkaMessage } from './codec.js';

const definition = contractEvent('codec.topic');

/** What kafkajs hands a consumer: Buffers for key, value and header values. */
function asReceived(message: ReturnType<typeof toKafkaMessage>) {
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = Buffer.from(String(v));
  return {
    key: message.key === null || message.key === undefined ? null : Buffer.from(String(message.key)),
    value: message.value === null || message.value === undefined ? null : Buffer.from(String(message.value)),
    headers,
  };
}

describe('CloudEvents Kafka binding, binary content mode', () => {
  it('maps attributes to ce_ headers, data to the value and partitionkey to the key (§3.1, §3.2)', () => {
    const event = makeEvent(definition, 'gw-7', 3).cloneWith(
      { subject: 'bin/03', deadletterreason: 'x' },
      false,
    );
    const message = toKafkaMessage(event as typeof event & { partitionkey: string });
    expect(message.key).toBe('gw-7');
    expect(JSON.parse(String(message.value))).toEqual({ key: 'gw-7', n: 3 });
    expect(message.headers).toMatchObject({
      'content-type': 'application/json',
      ce_specversion: '1.0',
      ce_id: event.id,
      ce_source: 'bv://contract',
      ce_type: definition.type,
      ce_time: event.time,
      ce_subject: 'bin/03',
      ce_deadletterreason: 'x',
    });
    expect(message.headers).not.toHaveProperty('ce_data');
    expect(message.headers).not.toHaveProperty('ce_datacontenttype');
  });

  it('decodes what it encodes', () => {
    const event = makeEvent(definition, 'gw-7', 3);
    const back = fromKafkaMessage(asReceived(toKafkaMessage(event)));
    expect(back.id).toBe(event.id);
    expect(back.type).toBe(event.type);
    expect(back.source).toBe(event.source);
    expect(back.time).toBe(event.time);
    expect(back.partitionkey).toBe('gw-7');
    expect(back.datacontenttype).toBe('application/json');
    expect(back.data).toEqual({ key: 'gw-7', n: 3 });
  });

  it('refuses records that are not binary-mode JSON CloudEvents', () => {
    const good = asReceived(toKafkaMessage(makeEvent(definition, 'k', 1)));
    expect(() => fromKafkaMessage({ key: good.key, value: good.value, headers: {} })).toThrow(
      /not a CloudEvent/,
    );
    expect(() => fromKafkaMessage({ ...good, value: Buffer.from('{oops') })).toThrow(/not JSON/);
    expect(() => fromKafkaMessage({ ...good, key: null })).toThrow(/no key/);
    expect(() =>
      fromKafkaMessage({ ...good, headers: { ...good.headers, 'content-type': Buffer.from('text/plain') } }),
    ).toThrow(ValidationError);
    const { ce_source: _source, ...noSource } = good.headers;
    expect(() => fromKafkaMessage({ ...good, headers: noSource })).toThrow(ValidationError);
  });

  it('reads the first value of a repeated header', () => {
    expect(headerStrings({ a: [Buffer.from('1'), Buffer.from('2')], b: 'x' })).toEqual({ a: '1', b: 'x' });
  });
});

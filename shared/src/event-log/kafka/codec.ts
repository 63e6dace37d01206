import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { ValidationError } from '../../errors/index.js';
import { type BvEvent, eventFromJson, eventToJson } from '../../events/index.js';

/**
 * CloudEvents on Kafka in binary content mode, per the CloudEvents Kafka Protocol Binding 1.0.2
 * (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md):
 * - §3.1 key mapping: the record key is the `partitionkey` extension (the entity whose order matters);
 * - §3.2.1 the `content-type` header carries `datacontenttype` (always `application/json` here);
 * - §3.2.2 the record value is the event data, encoded per that content type (JSON);
 * - §3.2.3 every other attribute, extensions included, is a header `ce_<name>` with its value as
 *   a UTF-8 string (§3.2.3.2); `time` in RFC 3339.
 */
const contentType = 'application/json';
const headerPrefix = 'ce_';
const notHeaders = new Set(['data', 'data_base64', 'datacontenttype', 'partitionkey']);

export function toKafkaMessage(event: BvEvent): Message {
  const headers: IHeaders = { 'content-type': event.datacontenttype ?? contentType };
  for (const [name, value] of Object.entries(eventToJson(event))) {
    if (notHeaders.has(name) || value === undefined || value === null) continue;
    headers[`${headerPrefix}${name}`] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return {
    key: event.partitionkey,
    value: event.data === undefined ? null : JSON.stringify(event.data),
    headers,
  };
}

/** Decodes a record; throws ValidationError for anything that is not a binary-mode JSON CloudEvent. */
export function fromKafkaMessage(message: Pick<KafkaMessage, 'key' | 'value' | 'headers'>): BvEvent {
  const headers = headerStrings(message.headers);
  if (headers.ce_specversion === undefined || headers.ce_id === undefined) {
    throw new ValidationError(
      'record is not a CloudEvent in binary content mode (no ce_specversion / ce_id header)',
    );
  }
  const type = headers['content-type'] ?? contentType;
  if (!/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new ValidationError(`record content-type ${type} is not JSON`);
  }
  if (message.key === null || message.key.length === 0) throw new ValidationError('record has no key');
  let data: unknown;
  if (message.value !== null) {
    try {
      data = JSON.parse(message.value.toString('utf8'));
    } catch (error) {
      throw new ValidationError(`record value is not JSON: ${String(error)}`, { cause: error });
    }
  }
  const attributes: Record<string, unknown> = { datacontenttype: type };
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(headerPrefix)) attributes[name.slice(headerPrefix.length)] = value;
  }
  return eventFromJson({ ...attributes, partitionkey: message.key.toString('utf8'), data });
}

/** kafkajs header values are Buffers (or arrays of them for repeated headers: the first wins). */
export function headerStrings(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined) continue;
    result[name.toLowerCase()] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return result;
}

import { isUtf8 } from 'node:buffer';

/**
 * MQTT 3.1.1 rules checked on a packet's bytes before aedes parses them. mqtt-packet decodes
 * strings with `toString('utf8')`, which turns ill-formed UTF-8 into U+FFFD, so whether the client
 * sent valid UTF-8 can only be told here, from the bytes. A broken rule closes the connection
 * (the spec's answer to a malformed packet), except an unsupported protocol level, which is
 * refused with a CONNACK first [MQTT-3.1.2-2].
 */
export type WireProblem = 'malformed' | 'protocol_level';

/** Control packet types (the high nibble of the first byte) whose body is checked. */
export const packetType = { connect: 1, publish: 3, subscribe: 8, unsubscribe: 10 } as const;

/** The CONNACK refusing an unsupported protocol level: return code 0x01 [MQTT-3.1.2-2]. */
export const connackUnacceptableProtocol = Buffer.from([0x20, 0x02, 0x00, 0x01]);

/** A UTF-8 encoded string field of section 1.5.3: the string's bytes, or undefined when cut off. */
function readString(body: Buffer, at: number): { bytes: Buffer; next: number } | undefined {
  if (at + 2 > body.length) return undefined;
  const length = body.readUInt16BE(at);
  if (at + 2 + length > body.length) return undefined;
  return { bytes: body.subarray(at + 2, at + 2 + length), next: at + 2 + length };
}

/** [MQTT-1.5.3-1] well-formed UTF-8 (no surrogates), [MQTT-1.5.3-2] no U+0000. */
export function isMqttString(bytes: Buffer): boolean {
  return isUtf8(bytes) && !bytes.includes(0);
}

/** A topic name (will, PUBLISH): at least one character [MQTT-4.7.3-1], no wildcard [MQTT-4.7.1-1]. */
function isTopicName(bytes: Buffer): boolean {
  return bytes.length > 0 && !bytes.includes(0x23) && !bytes.includes(0x2b) && isMqttString(bytes);
}

const flag = { username: 0x80, password: 0x40, willRetain: 0x20, willQos: 0x18, will: 0x04 };

/** The variable header and payload of a CONNECT (section 3.1). */
export function checkConnect(body: Buffer): WireProblem | undefined {
  const name = readString(body, 0);
  if (!name) return undefined; // cut short: mqtt-packet refuses it
  const protocol = name.bytes.toString('latin1');
  if (protocol !== 'MQTT' && protocol !== 'MQIsdp') return undefined; // [MQTT-3.1.2-1]: closed by the parser
  if (name.next + 4 > body.length) return undefined;
  const level = body[name.next]!;
  // 3 (3.1) and 4 (3.1.1) are served; 5 reaches aedes, which answers 0x01 itself
  if (level !== 3 && level !== 4) return level === 5 ? undefined : 'protocol_level';
  const flags = body[name.next + 1]!;
  // [MQTT-3.1.2-22] a password needs a user name
  if (flags & flag.password && !(flags & flag.username)) return 'malformed';
  // [MQTT-3.1.2-14] will QoS 3 does not exist
  if ((flags & flag.willQos) === flag.willQos) return 'malformed';
  const clientId = readString(body, name.next + 4);
  if (!clientId) return 'malformed';
  // [MQTT-3.1.3-4], [MQTT-1.5.3-1]
  if (!isMqttString(clientId.bytes)) return 'malformed';
  let at = clientId.next;
  if (flags & flag.will) {
    const topic = readString(body, at);
    // [MQTT-3.1.2-9] the will topic is there, and [MQTT-3.1.3-10] a topic name in UTF-8
    if (!topic || !isTopicName(topic.bytes)) return 'malformed';
    const message = readString(body, topic.next);
    if (!message) return 'malformed';
    at = message.next;
  }
  if (flags & flag.username) {
    const username = readString(body, at);
    // [MQTT-3.1.2-19] announced, so present, and [MQTT-3.1.3-11] UTF-8
    if (!username || !isMqttString(username.bytes)) return 'malformed';
    at = username.next;
  }
  if (flags & flag.password) {
    // [MQTT-3.1.2-21] announced, so present (binary data: any bytes)
    const password = readString(body, at);
    if (!password) return 'malformed';
    at = password.next;
  }
  // [MQTT-3.1.2-18] [MQTT-3.1.2-20] a user name or password its flag does not announce is bytes
  // after the last announced field; mqtt-packet ignores them, the spec closes [MQTT-3.1.4-1]
  return at === body.length ? undefined : 'malformed';
}

/** The topic of a PUBLISH: `head` is its 2-byte length and the topic bytes. */
export function checkPublishTopic(topic: Buffer): WireProblem | undefined {
  // [MQTT-3.3.2-1] a UTF-8 string, [MQTT-3.3.2-2] no wildcards; empty is refused by the ACL hook
  return topic.length === 0 || isTopicName(topic) ? undefined : 'malformed';
}

/** SUBSCRIBE (section 3.8) and UNSUBSCRIBE (section 3.10) bodies: packet id, then filters. */
export function checkSubscriptions(body: Buffer, subscribe: boolean): WireProblem | undefined {
  let at = 2;
  let count = 0;
  while (at < body.length) {
    const filter = readString(body, at);
    // [MQTT-4.7.3-1] at least one character, [MQTT-3.8.3-1], [MQTT-3.10.3-1] UTF-8
    if (!filter || filter.bytes.length === 0 || !isMqttString(filter.bytes)) return 'malformed';
    at = filter.next;
    if (subscribe) {
      // [MQTT-3-8.3-4] the reserved bits of the requested QoS are 0, and QoS 3 does not exist
      const qos = body[at];
      if (qos === undefined || qos > 2) return 'malformed';
      at++;
    }
    count++;
  }
  // [MQTT-3.8.3-3], [MQTT-3.10.3-2] at least one topic filter
  return count === 0 ? 'malformed' : undefined;
}

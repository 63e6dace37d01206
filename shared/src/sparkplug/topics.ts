import { ValidationError } from '../errors/index.js';

/** The Sparkplug B 3.0 topic namespace element. */
export const namespace = 'spBv1.0';

export const nodeMessageTypes = ['NBIRTH', 'NDEATH', 'NDATA', 'NCMD'] as const;
export const deviceMessageTypes = ['DBIRTH', 'DDEATH', 'DDATA', 'DCMD'] as const;
export type NodeMessageType = (typeof nodeMessageTypes)[number];
export type DeviceMessageType = (typeof deviceMessageTypes)[number];
export type MessageType = NodeMessageType | DeviceMessageType;

export interface NodeTopic {
  type: NodeMessageType;
  groupId: string;
  edgeNodeId: string;
}
export interface DeviceTopic {
  type: DeviceMessageType;
  groupId: string;
  edgeNodeId: string;
  deviceId: string;
}
export interface StateTopic {
  type: 'STATE';
  hostId: string;
}
export type SparkplugTopic = NodeTopic | DeviceTopic | StateTopic;

const nodeTypes: ReadonlySet<string> = new Set(nodeMessageTypes);
const deviceTypes: ReadonlySet<string> = new Set(deviceMessageTypes);

/**
 * Group, edge node, device and host ids are UTF-8 strings that must not contain the MQTT
 * separator or wildcards [tck-id-intro-group-id-chars] [tck-id-intro-edge-node-id-chars]
 * [tck-id-intro-device-id-chars]. We also bound their length (contract ids are <= 128 chars).
 */
export function isValidId(id: string): boolean {
  return id.length > 0 && id.length <= 128 && !/[/+#]/.test(id);
}

export function isNodeMessageType(type: string): type is NodeMessageType {
  return nodeTypes.has(type);
}

export function isDeviceMessageType(type: string): type is DeviceMessageType {
  return deviceTypes.has(type);
}

/**
 * Parses a Sparkplug topic; returns null for anything that is not a well-formed Sparkplug B
 * topic (other namespaces, wrong arity, a device type without a device id, bad ids), so an ACL
 * can deny it without try/catch.
 */
export function parseTopic(topic: string): SparkplugTopic | null {
  const parts = topic.split('/');
  if (parts[0] !== namespace) return null;
  // spBv1.0/STATE/<host_id> [tck-id-host-topic-phid-birth-topic]
  if (parts[1] === 'STATE') {
    const hostId = parts[2];
    if (parts.length !== 3 || hostId === undefined || !isValidId(hostId)) return null;
    return { type: 'STATE', hostId };
  }
  const [, groupId, type, edgeNodeId, deviceId] = parts;
  if (groupId === undefined || type === undefined || edgeNodeId === undefined) return null;
  if (!isValidId(groupId) || !isValidId(edgeNodeId)) return null;
  if (parts.length === 4 && isNodeMessageType(type)) return { type, groupId, edgeNodeId };
  if (parts.length === 5 && deviceId !== undefined && isDeviceMessageType(type) && isValidId(deviceId)) {
    return { type, groupId, edgeNodeId, deviceId };
  }
  return null;
}

/** Formats a topic; throws ValidationError for ids that cannot appear in a Sparkplug topic. */
export function formatTopic(topic: SparkplugTopic): string {
  if (topic.type === 'STATE') return stateTopic(topic.hostId);
  for (const id of [topic.groupId, topic.edgeNodeId]) assertId(id);
  const base = `${namespace}/${topic.groupId}/${topic.type}/${topic.edgeNodeId}`;
  if ('deviceId' in topic) {
    assertId(topic.deviceId);
    return `${base}/${topic.deviceId}`;
  }
  return base;
}

export function nodeTopic(type: NodeMessageType, groupId: string, edgeNodeId: string): string {
  return formatTopic({ type, groupId, edgeNodeId });
}

export function deviceTopic(
  type: DeviceMessageType,
  groupId: string,
  edgeNodeId: string,
  deviceId: string,
): string {
  return formatTopic({ type, groupId, edgeNodeId, deviceId });
}

export function stateTopic(hostId: string): string {
  assertId(hostId);
  return `${namespace}/STATE/${hostId}`;
}

/** What an edge node subscribes to for its commands [tck-id-edge-subscribe-ncmd] [tck-id-edge-subscribe-dcmd]. */
export function commandSubscriptions(groupId: string, edgeNodeId: string): string[] {
  assertId(groupId);
  assertId(edgeNodeId);
  return [nodeTopic('NCMD', groupId, edgeNodeId), `${namespace}/${groupId}/DCMD/${edgeNodeId}/+`];
}

/** Whether `topic` lies in the namespace that belongs to one edge node (its own node and device topics). */
export function belongsToEdgeNode(topic: SparkplugTopic, groupId: string, edgeNodeId: string): boolean {
  return topic.type !== 'STATE' && topic.groupId === groupId && topic.edgeNodeId === edgeNodeId;
}

function assertId(id: string): void {
  if (!isValidId(id)) throw new ValidationError(`invalid Sparkplug id ${JSON.stringify(id)}`);
}

import type { Logger } from '@bitv/shared/log';
import type { DeviceTopic, Metric, NodeTopic, SeqCounter } from '@bitv/shared/sparkplug';
import type { MqttClient } from 'mqtt';
import type { DeviceDirectory } from '../devices.js';
import type { AgentMetrics } from '../metrics.js';
import type { CommandStore, Outbox } from '../outbox/index.js';
import type { Cursors } from './cursors.js';

export interface UplinkOptions {
  brokerUrl: string;
  groupId: string;
  edgeNodeId: string;
  /** Sparkplug primary host to wait for (STATE); empty: publish as soon as connected. */
  primaryHostId: string | undefined;
  clientId: string;
  keepaliveSeconds: number;
  connectTimeoutMs: number;
  maxInFlight: number;
  maxReadingsPerMessage: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  healthIntervalMs: number;
  agentVersion: string;
  /** CA certificate(s) for mqtts:// when the broker's is not signed by a system CA. */
  ca?: Buffer | undefined;
  /** Read at every connect, so a rotated credential is used from the next session on. */
  credentials: () => { username?: string | undefined; password?: string | undefined };
}

export interface UplinkDeps {
  outbox: Outbox;
  commands: CommandStore;
  devices: DeviceDirectory;
  logger: Logger;
  metrics: AgentMetrics;
  onCommand: (topic: NodeTopic | DeviceTopic, payload: Buffer) => void;
  /** Links the agent cannot open, with why (health metrics `links/down`, `links/error`). */
  linkFaults?: () => ReadonlyMap<string, string>;
  /** Further node metrics every NBIRTH carries with their current values (the reported shadow). */
  nodeMetrics?: () => Metric[];
}

export type UplinkState = 'connecting' | 'waiting-for-host' | 'online' | 'disconnected' | 'closed';
export const uplinkStates: UplinkState[] = [
  'connecting',
  'waiting-for-host',
  'online',
  'disconnected',
  'closed',
];

export interface UplinkStatus {
  state: UplinkState;
  hostOnline: boolean | null;
  bdSeq: number | null;
  inFlight: number;
  sessions: number;
}

export interface Session {
  id: number;
  client: MqttClient;
  bdSeq: number;
  seq: SeqCounter;
  cursors: Cursors;
  birthed: Set<string>;
  inFlight: number;
  inFlightByDevice: Map<string, number>;
  resultsInFlight: Set<string>;
  gapsInFlight: Set<number>;
  /** Metric names of the session's last NBIRTH, and of each device's last DBIRTH: all a DATA message may carry. */
  nodeDeclared: Set<string>;
  deviceDeclared: Map<string, Set<string>>;
  /**
   * Its NDEATH was published (the primary host went offline) and the session ends when that is
   * acknowledged: it never goes online again, even if the host is back before the acknowledgement.
   */
  ending: boolean;
}

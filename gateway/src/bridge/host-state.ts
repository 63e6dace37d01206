import type { Logger } from '@bitv/shared/log';
import { encodeState, stateTopic } from '@bitv/shared/sparkplug';
import type { Aedes, AedesPublishPacket } from 'aedes';

/**
 * The Sparkplug primary host STATE (`spBv1.0/STATE/<host id>`, retained, QoS 1) as seen through
 * this broker node: online only while this node's bridge writes to the event log.
 *
 * In a cluster every node publishes its own changes to the shared topic, and each node rewrites
 * the payload it forwards to its own clients with its own state: an edge node connected to a node
 * whose bridge is down hears "offline" and keeps its data in its outbox, whatever the others say.
 * A node that dies takes its connections with it, so its clients reconnect elsewhere and hear
 * that node's state: the role of the host's will. On close the node publishes offline.
 */
export class HostState {
  readonly topic: string;
  #online = false;
  #since = Date.now();

  constructor(
    readonly broker: Aedes,
    hostId: string,
    readonly logger: Logger,
  ) {
    this.topic = stateTopic(hostId);
    // STATE is the host's alone. With authentication only the gateway itself may publish it (no
    // principal's ACL allows it); in anonymous mode any client can, and a retained empty or
    // "offline" STATE from someone else would keep every edge node storing instead of sending.
    // Whoever publishes it, the host puts its own back at once (retained), so the store always
    // ends on the host's word; live deliveries are rewritten by forward().
    broker.on('publish', (packet, client) => {
      if (client && packet.topic === this.topic) {
        this.logger.warn({ clientId: client.id }, 'a client published the primary host STATE: re-asserted');
        void this.#publish();
      }
    });
  }

  get online(): boolean {
    return this.#online;
  }

  /** Publishes a change (retained); repeated values are not republished. */
  set(online: boolean): Promise<void> {
    if (online === this.#online) return Promise.resolve();
    this.#online = online;
    this.#since = Date.now();
    this.logger.info({ topic: this.topic, online }, 'primary host STATE');
    return this.#publish();
  }

  #publish(): Promise<void> {
    return new Promise((resolve) => {
      this.broker.publish(
        { cmd: 'publish', topic: this.topic, payload: this.payload(), qos: 1, retain: true, dup: false },
        (error) => {
          if (error) this.logger.warn({ err: error }, 'cannot publish STATE');
          resolve();
        },
      );
    });
  }

  payload(): Buffer {
    // [tck-id-host-topic-phid-birth-payload] {"online":bool,"timestamp":ms}; the timestamp is when
    // this node's state last changed, so edge nodes order repeated messages correctly
    return encodeState({ online: this.#online, timestamp: this.#since });
  }

  /** authorizeForward: this node's own STATE replaces whatever another node published. */
  forward(packet: AedesPublishPacket): AedesPublishPacket {
    if (packet.topic !== this.topic) return packet;
    return { ...packet, payload: this.payload() };
  }
}

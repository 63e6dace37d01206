import type { Aedes, Client } from 'aedes';

/**
 * [MQTT-3.2.2-2] CONNACK's Session Present is 1 when a CleanSession 0 client finds its stored
 * session. aedes sets it only when the stored session holds a subscription, so a session holding
 * nothing else (a QoS 2 release pending, queued messages, or nothing at all) is answered 0 and a
 * strict client throws its state away. Our fix: every CleanSession 0 connection stores this marker
 * as one more subscription of its session, in whatever persistence the node uses (memory, or Redis
 * in a cluster, so any node finds it); aedes then finds a subscription and answers 1. The marker
 * is refused by authorizeSubscribe when aedes restores it, so nothing is ever subscribed to it, and
 * clients cannot publish to '$' topics [MQTT-4.7.2-1]. CleanSession 1 deletes it with the session
 * [MQTT-3.1.2-6]. Upstream: see "aedes: Session Present" in docs/gateway.md.
 */
const marker = '$BV/session';

export function isSessionMarker(filter: string): boolean {
  return filter === marker;
}

interface SubscriptionStore {
  addSubscriptions(client: Client, subs: { topic: string; qos: number }[]): Promise<void>;
}

/** On 'clientReady': a CleanSession 0 connection now has a stored session. */
export function markSession(broker: Aedes, client: Client): Promise<void> {
  if (client.clean) return Promise.resolve();
  // aedes types its persistence loosely; addSubscriptions is part of every store's contract
  const store = (broker as unknown as { persistence: SubscriptionStore }).persistence;
  return store.addSubscriptions(client, [{ topic: marker, qos: 0 }]);
}

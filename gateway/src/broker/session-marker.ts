import type { Aedes } from 'aedes';

/**
 * [MQTT-3.2.2-2] CONNACK's Session Present is 1 when a CleanSession 0 client finds its stored
 * session. aedes sets it only when the stored session holds a subscription, so a session holding
 * nothing else (a QoS 2 release pending, queued messages, or nothing at all) is answered 0 and a
 * strict client throws its state away. Our fix: every CleanSession 0 session holds this marker as
 * one more subscription, in whatever persistence the node uses (memory, or Redis in a cluster, so
 * any node finds it); aedes then finds a subscription and answers 1. The marker is refused by
 * authorizeSubscribe when aedes restores it, so nothing is ever subscribed to it, and clients
 * cannot publish to '$' topics [MQTT-4.7.2-1]. CleanSession 1 deletes it with the session
 * [MQTT-3.1.2-6]. Upstream: see "MQTT 3.1.1 conformance" in docs/gateway.md.
 */
const marker = '$BV/session';

export function isSessionMarker(filter: string): boolean {
  return filter === marker;
}

interface ClientRef {
  id: string;
}
interface SubscriptionStore {
  subscriptionsByClient(client: ClientRef): Promise<{ topic: string }[]>;
  addSubscriptions(client: ClientRef, subs: { topic: string; qos: number }[]): Promise<void>;
  cleanSubscriptions(client: ClientRef): Promise<void>;
}

/**
 * aedes reads a session's subscriptions on a CleanSession 0 CONNECT only, before its CONNACK:
 * the session is marked there, so it is stored before the client hears back (a client that
 * disconnects at once and returns still finds it). What aedes gets is what was stored before.
 */
export function markSessionsOnConnect(broker: Aedes): void {
  // aedes types its persistence loosely; both methods are part of every store's contract
  const store = (broker as unknown as { persistence: SubscriptionStore }).persistence;
  const read = store.subscriptionsByClient.bind(store);
  const clean = store.cleanSubscriptions.bind(store);
  // aedes-persistence-redis reads the subscriptions it deletes through this same method: marking
  // there left a CleanSession 1 client a session (Session Present 1 on its next CleanSession 0
  // CONNECT) [MQTT-3.1.2-6]
  const cleaning = new Set<string>();
  store.cleanSubscriptions = async (client) => {
    cleaning.add(client.id);
    try {
      await clean(client);
    } finally {
      cleaning.delete(client.id);
    }
  };
  store.subscriptionsByClient = async (client) => {
    const subs = await read(client);
    if (!cleaning.has(client.id) && !subs.some((s) => s.topic === marker))
      await store.addSubscriptions({ id: client.id }, [{ topic: marker, qos: 0 }]);
    return subs;
  };
}

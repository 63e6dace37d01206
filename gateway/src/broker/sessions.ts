import type { Client } from 'aedes';
import type { Acl } from '../acl/acl.js';
import type { Principal } from '../auth/principal.js';
import type { UplinkTopic } from '../bridge/translate.js';

export interface Session {
  principal: Principal;
  acl: Acl;
  expiryTimer?: NodeJS.Timeout;
  /** The last topic this connection was allowed to publish to, with what was worked out for it. */
  lastPublish?: {
    topic: string;
    received: { inc(): void };
    uplink: UplinkTopic | undefined;
  };
}

/** Longest delay a Node timer takes (about 24.8 days); later expiries are checked again then. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * Who each live connection is, and which connections hold which token id, so a revocation or a
 * token's expiry drops exactly the connections that used it.
 */
export class Sessions {
  readonly #byClient = new WeakMap<Client, Session>();
  readonly #byJti = new Map<string, Set<Client>>();

  get(client: Client): Session | undefined {
    return this.#byClient.get(client);
  }

  set(client: Client, session: Session): void {
    this.#byClient.set(client, session);
  }

  /** Once the CONNECT succeeded: index the token id and close the connection when the token expires. */
  activate(client: Client, onExpired: (client: Client) => void): void {
    const session = this.#byClient.get(client);
    if (!session || session.principal.kind === 'anonymous') return;
    const { jti, expiresAt } = session.principal;
    if (jti !== undefined) {
      const set = this.#byJti.get(jti) ?? new Set<Client>();
      set.add(client);
      this.#byJti.set(jti, set);
    }
    const arm = () => {
      const left = expiresAt - Date.now();
      session.expiryTimer = setTimeout(
        () => (expiresAt <= Date.now() ? onExpired(client) : arm()),
        Math.max(0, Math.min(left, maxTimerMs)),
      );
      session.expiryTimer.unref();
    };
    arm();
  }

  remove(client: Client): void {
    const session = this.#byClient.get(client);
    if (!session) return;
    clearTimeout(session.expiryTimer);
    if (session.principal.kind !== 'anonymous' && session.principal.jti !== undefined) {
      const set = this.#byJti.get(session.principal.jti);
      set?.delete(client);
      if (set?.size === 0) this.#byJti.delete(session.principal.jti);
    }
    this.#byClient.delete(client);
  }

  /** Connections authenticated with this token id. */
  withJti(jti: string): Client[] {
    return [...(this.#byJti.get(jti) ?? [])];
  }
}

/**
 * Token ids revoked by the registry (`credentialRevokedV1`). An entry is kept until the revoked
 * token's own expiry: after that the token fails the expiry check anyway.
 */
export class RevocationList {
  readonly #entries = new Map<string, number>();

  add(jti: string, expiresAt: number): void {
    if (expiresAt > Date.now()) this.#entries.set(jti, expiresAt);
    // amortised: a replay of the whole revocation topic stays linear
    if (this.#entries.size % 1024 === 0) this.prune();
  }

  has(jti: string): boolean {
    const until = this.#entries.get(jti);
    return until !== undefined && until > Date.now();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Forgets entries whose token has expired; bounded by the number of entries. */
  prune(now = Date.now()): void {
    for (const [jti, until] of this.#entries) if (until <= now) this.#entries.delete(jti);
  }
}

/**
 * Claims of access tokens already verified, until each token's `exp`. A token is an immutable
 * signed string, so the same string verifies to the same claims until it expires: a client that
 * sends its token with every request (home-feed reads, SSE reconnects) pays one signature check
 * per token instead of one per request. Keyed by the whole token, so a forged or altered token
 * never matches an entry. Bounded: past `maxEntries` the oldest entry goes.
 */
export class VerifiedTokens<Claims extends { exp: number }> {
  private readonly entries = new Map<string, Claims>();

  constructor(
    private readonly maxEntries: number,
    /** Seconds since the epoch (a test moves it by hand). */
    private readonly nowSeconds: () => number = () => Date.now() / 1000,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The claims, while the token has not expired (jose's rule: expired once `exp <= now`). */
  get(token: string): Claims | undefined {
    const claims = this.entries.get(token);
    if (!claims) return undefined;
    if (claims.exp <= this.nowSeconds()) {
      this.entries.delete(token);
      return undefined;
    }
    return claims;
  }

  set(token: string, claims: Claims): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(token);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    this.entries.set(token, claims);
  }
}

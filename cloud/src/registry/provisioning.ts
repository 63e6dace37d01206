import { randomBytes, randomUUID } from 'node:crypto';
import { NotFoundError, UnauthenticatedError, ValidationError } from '@bitv/shared';
import type { EventLog } from '@bitv/shared/event-log';
import { credentialRevokedV1 } from '@bitv/shared/events';
import type { Logger } from '@bitv/shared/log';
import { hashSecret, newSecret } from '../auth/secrets.js';
import type { Tokens } from '../auth/tokens.js';
import type { CloudDb } from '../db/index.js';
import { publishEvent } from '../events.js';

export interface ClaimTokenIssued {
  token: string;
  gatewayId: string | null;
  expiresAt: string;
}

export interface ProvisionResult {
  gatewayId: string;
  groupId: string;
  edgeNodeId: string;
  credential: string;
  credentialExpiresAt: string;
  brokerUrl: string;
  primaryHostId: string;
}

export interface ProvisioningSettings {
  /** Where gateways connect; may be learnt after start (`setBrokerUrl`), the broker starts after the cloud. */
  brokerUrl: string;
  primaryHostId: string;
}

/**
 * Claim tokens and gateway credentials. An operator makes one-time claim tokens for a site; the
 * edge agent exchanges one (`bitv-edge provision`) for a device JWT whose `sub` is its edge node
 * id and `group` its site. The broker verifies credentials against the JWKS alone, so revocation
 * reaches it as a `credentialRevokedV1` event it turns into a deny-list entry.
 */
export class Provisioning {
  constructor(
    private readonly db: CloudDb,
    private readonly tokens: Tokens,
    private readonly eventLog: EventLog,
    settings: ProvisioningSettings,
    private readonly logger: Logger,
  ) {
    this.settings = { ...settings };
  }

  private readonly settings: ProvisioningSettings;

  setBrokerUrl(url: string): void {
    this.settings.brokerUrl = url;
  }

  async createClaimTokens(input: {
    siteId: string;
    count?: number;
    gatewayIds?: string[];
    aisleId?: string | null;
    ttlSeconds: number;
    createdBy: string;
  }): Promise<{ batchId: string; tokens: ClaimTokenIssued[] }> {
    const site = await this.db
      .selectFrom('sites')
      .select('id')
      .where('id', '=', input.siteId)
      .executeTakeFirst();
    if (!site) throw new NotFoundError(`site ${input.siteId} not found`);
    const names: (string | null)[] = input.gatewayIds ?? Array.from({ length: input.count ?? 1 }, () => null);
    if (names.length === 0) throw new ValidationError('nothing to create: count or gatewayIds');
    const batchId = randomUUID();
    const expiresAt = new Date(Date.now() + input.ttlSeconds * 1000);
    const issued = names.map((gatewayId) => ({
      token: newSecret('bvc'),
      gatewayId,
      expiresAt: expiresAt.toISOString(),
    }));
    await this.db
      .insertInto('claim_tokens')
      .values(
        issued.map((t) => ({
          token_hash: hashSecret(t.token),
          site_id: input.siteId,
          gateway_id: t.gatewayId,
          aisle_id: input.aisleId ?? null,
          batch_id: batchId,
          created_by: input.createdBy,
          expires_at: expiresAt,
          used_at: null,
          used_by: null,
        })),
      )
      .execute();
    return { batchId, tokens: issued };
  }

  /** Spends a claim token (once, atomically) and returns the new gateway's credential. */
  async provision(input: {
    claimToken: string;
    hostname?: string;
    agentVersion?: string;
  }): Promise<ProvisionResult> {
    const result = await this.db.transaction().execute(async (trx) => {
      const claim = await trx
        .updateTable('claim_tokens')
        .set({ used_at: new Date() })
        .where('token_hash', '=', hashSecret(input.claimToken))
        .where('used_at', 'is', null)
        .where('expires_at', '>', new Date())
        .returningAll()
        .executeTakeFirst();
      if (!claim) throw new UnauthenticatedError('claim token unknown, used or expired');
      const gatewayId = claim.gateway_id ?? `gw-${randomBytes(4).toString('hex')}`;
      await trx
        .updateTable('claim_tokens')
        .set({ used_by: gatewayId })
        .where('token_hash', '=', claim.token_hash)
        .execute();
      const existing = await trx
        .selectFrom('gateways')
        .select(['site_id'])
        .where('id', '=', gatewayId)
        .executeTakeFirst();
      if (existing && existing.site_id !== claim.site_id) {
        throw new UnauthenticatedError(`gateway ${gatewayId} belongs to another site`);
      }
      await trx
        .insertInto('gateways')
        .values({
          id: gatewayId,
          site_id: claim.site_id,
          aisle_id: claim.aisle_id,
          name: gatewayId,
          status: 'provisioned',
          online: false,
          hostname: input.hostname ?? null,
          agent_version: input.agentVersion ?? null,
        })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            status: 'provisioned',
            hostname: input.hostname ?? null,
            agent_version: input.agentVersion ?? null,
          }),
        )
        .execute();
      // A gateway claimed again (re-imaged box) loses its older credentials.
      const revoked = await revokeActive(trx, gatewayId);
      const credential = await this.issue(trx, gatewayId, claim.site_id);
      return { gatewayId, groupId: claim.site_id, credential, revoked };
    });
    await this.announceRevoked(result.gatewayId, result.revoked);
    this.logger.info({ gatewayId: result.gatewayId, siteId: result.groupId }, 'gateway provisioned');
    return this.body(result.gatewayId, result.groupId, result.credential);
  }

  /** Issues a fresh credential for the gateway presenting a valid one, and revokes the presented one. */
  async rotate(claims: { edgeNodeId: string; groupId: string; jti: string }): Promise<ProvisionResult> {
    const result = await this.db.transaction().execute(async (trx) => {
      const current = await trx
        .updateTable('gateway_credentials')
        .set({ revoked_at: new Date() })
        .where('jti', '=', claims.jti)
        .where('gateway_id', '=', claims.edgeNodeId)
        .where('revoked_at', 'is', null)
        .returning(['jti', 'expires_at'])
        .executeTakeFirst();
      if (!current) throw new UnauthenticatedError('credential revoked or unknown');
      const credential = await this.issue(trx, claims.edgeNodeId, claims.groupId);
      return { credential, revoked: [{ jti: current.jti, expires_at: current.expires_at }] };
    });
    await this.announceRevoked(claims.edgeNodeId, result.revoked);
    return this.body(claims.edgeNodeId, claims.groupId, result.credential);
  }

  /** Revokes every credential of a gateway (decommissioning, a stolen box). */
  async revokeAll(gatewayId: string): Promise<number> {
    const gateway = await this.db
      .selectFrom('gateways')
      .select('id')
      .where('id', '=', gatewayId)
      .executeTakeFirst();
    if (!gateway) throw new NotFoundError(`gateway ${gatewayId} not found`);
    const revoked = await revokeActive(this.db, gatewayId);
    await this.announceRevoked(gatewayId, revoked);
    return revoked.length;
  }

  /** Whether a credential is still good (not revoked); the API checks it on device-authenticated calls. */
  async isActive(jti: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('gateway_credentials')
      .select('revoked_at')
      .where('jti', '=', jti)
      .executeTakeFirst();
    return row !== undefined && row.revoked_at === null;
  }

  private async issue(trx: CloudDb, gatewayId: string, groupId: string) {
    const credential = await this.tokens.deviceCredential(gatewayId, groupId);
    await trx
      .insertInto('gateway_credentials')
      .values({
        jti: credential.jti,
        gateway_id: gatewayId,
        issued_at: new Date(),
        expires_at: credential.expiresAt,
        revoked_at: null,
      })
      .execute();
    return credential;
  }

  private async announceRevoked(
    gatewayId: string,
    revoked: { jti: string; expires_at: Date | string }[],
  ): Promise<void> {
    for (const r of revoked) {
      await publishEvent(this.eventLog, credentialRevokedV1, gatewayId, {
        edgeNodeId: gatewayId,
        jti: r.jti,
        expiresAt: new Date(r.expires_at).toISOString(),
      });
    }
  }

  private body(
    gatewayId: string,
    groupId: string,
    credential: { token: string; expiresAt: Date },
  ): ProvisionResult {
    return {
      gatewayId,
      groupId,
      edgeNodeId: gatewayId,
      credential: credential.token,
      credentialExpiresAt: credential.expiresAt.toISOString(),
      brokerUrl: this.settings.brokerUrl,
      primaryHostId: this.settings.primaryHostId,
    };
  }
}

async function revokeActive(db: CloudDb, gatewayId: string) {
  return db
    .updateTable('gateway_credentials')
    .set({ revoked_at: new Date() })
    .where('gateway_id', '=', gatewayId)
    .where('revoked_at', 'is', null)
    .returning(['jti', 'expires_at'])
    .execute();
}

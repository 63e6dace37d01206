import { randomUUID } from 'node:crypto';
import { NotFoundError } from '@bitv/shared';
import type { Role } from '@bitv/shared/auth';
import type { CloudDb } from '../db/index.js';
import { iso } from '../db/time.js';
import { hashSecret, newSecret } from './secrets.js';

export interface ApiKey {
  id: string;
  name: string;
  ownerId: string;
  role: Role;
  createdAt: string;
  revokedAt: string | null;
}

export const apiKeyPrefix = 'bvk';

/** Partner API keys: long random secrets shown once, stored hashed, acting with the partner role. */
export class ApiKeys {
  constructor(private readonly db: CloudDb) {}

  async create(ownerId: string, name: string): Promise<{ key: string; apiKey: ApiKey }> {
    const key = newSecret(apiKeyPrefix);
    const row = await this.db
      .insertInto('api_keys')
      .values({
        id: randomUUID(),
        name,
        owner_id: ownerId,
        role: 'partner',
        key_hash: hashSecret(key),
        revoked_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { key, apiKey: toApiKey(row) };
  }

  async resolve(key: string): Promise<ApiKey | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('key_hash', '=', hashSecret(key))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row ? toApiKey(row) : undefined;
  }

  async list(ownerId?: string): Promise<ApiKey[]> {
    let q = this.db.selectFrom('api_keys').selectAll().orderBy('created_at');
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    return (await q.execute()).map(toApiKey);
  }

  async revoke(id: string, ownerId?: string): Promise<void> {
    let q = this.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', id);
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    const result = await q.executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw new NotFoundError(`api key ${id} not found`);
  }
}

function toApiKey(r: {
  id: string;
  name: string;
  owner_id: string;
  role: string;
  created_at: Date;
  revoked_at: Date | null;
}): ApiKey {
  return {
    id: r.id,
    name: r.name,
    ownerId: r.owner_id,
    role: r.role as Role,
    createdAt: iso(r.created_at),
    revokedAt: r.revoked_at ? iso(r.revoked_at) : null,
  };
}

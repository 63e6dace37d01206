import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, UnauthenticatedError } from '@bitv/shared';
import type { Role } from '@bitv/shared/auth';
import type { CloudDb } from '../db/index.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { hashSecret, newSecret } from './secrets.js';
import type { SignedToken, Tokens } from './tokens.js';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  sites: string[] | null;
  status: 'invited' | 'active' | 'disabled';
}

export interface Session {
  user: User;
  access: SignedToken;
  refresh: SignedToken;
}

type UserRow = {
  id: string;
  email: string;
  name: string;
  role: string;
  sites: string[] | null;
  status: 'invited' | 'active' | 'disabled';
};

const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  name: r.name,
  role: r.role as Role,
  sites: r.sites ?? null,
  status: r.status,
});

const userColumns = ['id', 'email', 'name', 'role', 'sites', 'status'] as const;

// A fixed hash to compare against when the email is unknown, so both paths cost one scrypt and
// response time does not tell which emails exist.
const decoyHash = hashPassword('decoy password for timing');

/** People: invitations (only admins invite), registration, login, refresh with rotation, logout. */
export class Users {
  constructor(
    private readonly db: CloudDb,
    private readonly tokens: Tokens,
    private readonly inviteTtlSeconds = 7 * 24 * 3600,
  ) {}

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Creates an active user directly (bootstrap admin, demo seed). */
  async create(input: {
    email: string;
    name: string;
    role: Role;
    password: string;
    sites?: string[] | null;
  }): Promise<User> {
    const row = {
      id: randomUUID(),
      email: input.email.toLowerCase(),
      name: input.name,
      role: input.role,
      sites: input.sites ? JSON.stringify(input.sites) : null,
      password_hash: await hashPassword(input.password),
      status: 'active' as const,
      invite_hash: null,
      invite_expires_at: null,
    };
    const inserted = await this.db
      .insertInto('users')
      .values(row)
      .onConflict((oc) => oc.column('email').doNothing())
      .returning(userColumns)
      .executeTakeFirst();
    if (!inserted) throw new ConflictError(`a user with email ${row.email} exists`);
    return toUser(inserted);
  }

  async invite(input: {
    email: string;
    name: string;
    role: Role;
    sites?: string[] | null;
  }): Promise<{ user: User; inviteToken: string; expiresAt: Date }> {
    const inviteToken = newSecret('bvi');
    const expiresAt = new Date(Date.now() + this.inviteTtlSeconds * 1000);
    const inserted = await this.db
      .insertInto('users')
      .values({
        id: randomUUID(),
        email: input.email.toLowerCase(),
        name: input.name,
        role: input.role,
        sites: input.sites ? JSON.stringify(input.sites) : null,
        password_hash: null,
        status: 'invited',
        invite_hash: hashSecret(inviteToken),
        invite_expires_at: expiresAt,
      })
      .onConflict((oc) => oc.column('email').doNothing())
      .returning(userColumns)
      .executeTakeFirst();
    if (!inserted) throw new ConflictError(`a user with email ${input.email} exists`);
    return { user: toUser(inserted), inviteToken, expiresAt };
  }

  /** Accepts an invitation: sets the password and activates the user, once. */
  async register(input: { inviteToken: string; password: string; name?: string }): Promise<Session> {
    const passwordHash = await hashPassword(input.password);
    const updated = await this.db
      .updateTable('users')
      .set({
        password_hash: passwordHash,
        status: 'active',
        invite_hash: null,
        invite_expires_at: null,
        ...(input.name ? { name: input.name } : {}),
      })
      .where('invite_hash', '=', hashSecret(input.inviteToken))
      .where('status', '=', 'invited')
      .where('invite_expires_at', '>', new Date())
      .returning(userColumns)
      .executeTakeFirst();
    if (!updated) throw new UnauthenticatedError('invitation unknown, used or expired');
    return this.session(toUser(updated));
  }

  async login(email: string, password: string): Promise<Session> {
    const row = await this.db
      .selectFrom('users')
      .select([...userColumns, 'password_hash'])
      .where('email', '=', email.toLowerCase())
      .executeTakeFirst();
    const valid = await verifyPassword(password, row?.password_hash ?? (await decoyHash));
    if (!row || !valid || row.status !== 'active') throw new UnauthenticatedError('wrong email or password');
    return this.session(toUser(row));
  }

  /** Exchanges a refresh token for a new pair; the old refresh token is spent (rotation). */
  async refresh(refreshToken: string): Promise<Session> {
    const claims = await this.tokens.verifyRefresh(refreshToken);
    const spent = await this.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: new Date() })
      .where('jti', '=', claims.jti)
      .where('revoked_at', 'is', null)
      .returning('user_id')
      .executeTakeFirst();
    if (!spent) throw new UnauthenticatedError('refresh token revoked or already used');
    const user = await this.get(spent.user_id);
    if (user.status !== 'active') throw new UnauthenticatedError('user is not active');
    return this.session(user);
  }

  async logout(refreshToken: string): Promise<void> {
    const claims = await this.tokens.verifyRefresh(refreshToken);
    await this.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: new Date() })
      .where('jti', '=', claims.jti)
      .execute();
  }

  async get(id: string): Promise<User> {
    const row = await this.db.selectFrom('users').select(userColumns).where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError(`user ${id} not found`);
    return toUser(row);
  }

  async list(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').select(userColumns).orderBy('email').execute();
    return rows.map(toUser);
  }

  async session(user: User): Promise<Session> {
    const access = await this.tokens.accessToken(user);
    const refresh = await this.tokens.refreshToken(user.id);
    await this.db
      .insertInto('refresh_tokens')
      .values({ jti: refresh.jti, user_id: user.id, expires_at: refresh.expiresAt, revoked_at: null })
      .execute();
    return { user, access, refresh };
  }
}

import { createHmac } from 'node:crypto';
import { audiences } from '@bitv/shared/auth';
import { encodeNodeBirth } from '@bitv/shared/sparkplug';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlledEventLog } from './helpers/event-log.js';
import {
  closed,
  connackCode,
  connect,
  grant,
  metricValue,
  type TestGateway,
  testGateway,
} from './helpers/gateway.js';
import { type TokenIssuer, testIssuer, tokenIssuer } from './helpers/tokens.js';

const site = 'site-a';

describe('authentication and ACL', () => {
  let issuer: TokenIssuer;
  let t: TestGateway;
  const log = new ControlledEventLog();
  const failures = (reason: string) => metricValue(t.registry, 'bv_gateway_auth_failures_total', { reason });
  const denials = (action: string) => metricValue(t.registry, 'bv_gateway_acl_denials_total', { action });

  beforeAll(async () => {
    issuer = await tokenIssuer();
    t = await testGateway({ jwksUrl: issuer.jwksUrl }, { eventLog: log });
  });
  afterAll(async () => {
    await t?.close();
    await issuer?.close();
  });

  it('accepts a gateway with its own token and client id', async () => {
    const client = await connect(t.gw.mqttUrl, {
      clientId: 'gw-1',
      username: 'gw-1',
      password: await issuer.gateway('gw-1', site),
    });
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it('refuses forged, expired, wrong-audience, wrong-issuer, alg none and HMAC tokens, and counts each', async () => {
    const url = t.gw.mqttUrl;
    const as = (password: string) => connackCode(url, { clientId: 'gw-1', username: 'gw-1', password });

    const before = {
      bad_signature: await failures('bad_signature'),
      expired: await failures('expired'),
      claims: await failures('claims'),
      algorithm: await failures('algorithm'),
    };
    expect(await as(await issuer.gateway('gw-1', site, { forgedKey: true }))).toBe(4);
    expect(await as(await issuer.gateway('gw-1', site, { expiresInSeconds: -60 }))).toBe(4);
    expect(await as(await issuer.gateway('gw-1', site, { audience: audiences.api }))).toBe(4);
    expect(await as(await issuer.gateway('gw-1', site, { issuer: 'someone-else' }))).toBe(4);
    expect(await as(unsignedToken({ sub: 'gw-1', kind: 'gateway', group: site }))).toBe(4);
    expect(await as(hmacToken({ sub: 'gw-1', kind: 'gateway', group: site }))).toBe(4);

    expect(await failures('bad_signature')).toBe(before.bad_signature + 1);
    expect(await failures('expired')).toBe(before.expired + 1);
    expect(await failures('claims')).toBe(before.claims + 2);
    expect(await failures('algorithm')).toBe(before.algorithm + 2);
  });

  it('refuses no token, a username that is not the subject, and another gateway client id', async () => {
    const token = await issuer.gateway('gw-1', site);
    expect(await connackCode(t.gw.mqttUrl, { clientId: 'gw-1' })).toBe(5);
    expect(await connackCode(t.gw.mqttUrl, { clientId: 'gw-2', username: 'gw-2', password: token })).toBe(4);
    // gw-1's valid token used to take gw-2's session
    expect(await connackCode(t.gw.mqttUrl, { clientId: 'gw-2', username: 'gw-1', password: token })).toBe(2);
    expect(await failures('no_credentials')).toBeGreaterThanOrEqual(1);
    expect(await failures('username_mismatch')).toBeGreaterThanOrEqual(1);
    expect(await failures('client_id')).toBeGreaterThanOrEqual(1);
  });

  it('disconnects a gateway publishing as another gateway and counts the denial', async () => {
    const client = await connect(t.gw.mqttUrl, {
      clientId: 'gw-1',
      username: 'gw-1',
      password: await issuer.gateway('gw-1', site),
    });
    const before = await denials('publish');
    const gone = closed(client);
    client.publish(`spBv1.0/${site}/NBIRTH/gw-2`, Buffer.from(encodeNodeBirth(birth())), { qos: 1 });
    await gone;
    expect(await denials('publish')).toBe(before + 1);
    expect(log.records).toHaveLength(0);
  });

  it('disconnects a gateway publishing in another group, commands or STATE', async () => {
    for (const topic of [
      `spBv1.0/other-site/NBIRTH/gw-1`,
      `spBv1.0/${site}/NCMD/gw-1`,
      `spBv1.0/${site}/DCMD/gw-1/shelf-1`,
      'spBv1.0/STATE/bv-cloud',
      'bv/site-a/telemetry/gw-1/shelf-1',
      '$SYS/anything',
    ]) {
      const client = await connect(t.gw.mqttUrl, {
        clientId: 'gw-1',
        username: 'gw-1',
        password: await issuer.gateway('gw-1', site),
      });
      const gone = closed(client);
      client.publish(topic, 'x', { qos: 1 });
      await gone;
    }
    expect(await denials('publish')).toBeGreaterThanOrEqual(6);
  });

  it('lets a gateway subscribe to its own commands and the host STATE only', async () => {
    const client = await connect(t.gw.mqttUrl, {
      clientId: 'gw-1',
      username: 'gw-1',
      password: await issuer.gateway('gw-1', site),
    });
    const before = await denials('subscribe');
    const g = (filter: string) => grant(client, filter);
    expect(await g(`spBv1.0/${site}/NCMD/gw-1`)).toBe(1);
    expect(await g(`spBv1.0/${site}/DCMD/gw-1/+`)).toBe(1);
    expect(await g(`spBv1.0/${site}/DCMD/gw-1/#`)).toBe(1);
    expect(await g('spBv1.0/STATE/bv-cloud')).toBe(1);
    expect(await g(`spBv1.0/${site}/NCMD/gw-2`)).toBe(128);
    expect(await g(`spBv1.0/${site}/DCMD/+/shelf-1`)).toBe(128);
    expect(await g(`spBv1.0/${site}/#`)).toBe(128);
    expect(await g('#')).toBe(128);
    expect(await g(`spBv1.0/${site}/NDATA/gw-2`)).toBe(128);
    expect(await denials('subscribe')).toBe(before + 5);
    await client.endAsync();
  });

  it('refuses a will on another gateway topic', async () => {
    const code = await connackCode(t.gw.mqttUrl, {
      clientId: 'gw-1',
      username: 'gw-1',
      password: await issuer.gateway('gw-1', site),
      will: { topic: `spBv1.0/${site}/NDEATH/gw-2`, payload: Buffer.from('x'), qos: 1, retain: false },
    });
    expect(code).toBe(5);
    expect(await denials('will')).toBeGreaterThanOrEqual(1);
  });

  it('gives users read-only topics by role and site', async () => {
    const staff = await connect(t.gw.mqttUrl, {
      clientId: 'alice:tab1',
      username: 'alice',
      password: await issuer.user('alice', 'staff', { sites: [site] }),
    });
    const g = (filter: string) => grant(staff, filter, 0);
    expect(await g(`bv/${site}/#`)).toBe(0);
    expect(await g('bv/other-site/#')).toBe(128);
    expect(await g(`spBv1.0/${site}/#`)).toBe(128);
    const gone = closed(staff);
    staff.publish(`bv/${site}/telemetry/gw-1/shelf-1`, 'x', { qos: 1 });
    await gone;

    // an empty client id: the broker assigns one (clean session)
    const operator = await connect(t.gw.mqttUrl, {
      clientId: '',
      username: 'olga',
      password: await issuer.user('olga', 'operator'),
    });
    expect(await grant(operator, `spBv1.0/${site}/#`, 0)).toBe(0);
    expect(await grant(operator, '$SYS/#', 0)).toBe(128);
    await operator.endAsync();

    const partner = await connect(t.gw.mqttUrl, {
      clientId: 'pat:dashboard',
      username: 'pat',
      password: await issuer.user('pat', 'partner'),
    });
    expect(await grant(partner, 'bv/#', 0)).toBe(128);
    await partner.endAsync();
    // a generated id that is not the user's: another user's session cannot be taken over
    expect(
      await connackCode(t.gw.mqttUrl, {
        clientId: 'mqttjs_1234',
        username: 'pat',
        password: await issuer.user('pat', 'partner'),
      }),
    ).toBe(2);
  });

  it('serves the counters on /metrics', async () => {
    const text = await (await fetch(`${t.gw.opsUrl}/metrics`)).text();
    expect(text).toMatch(/bv_gateway_auth_failures_total\{reason="expired"\} [1-9]/);
    expect(text).toMatch(/bv_gateway_acl_denials_total\{action="publish",principal="gateway"\} [1-9]/);
  });
});

describe('revocation', () => {
  it('drops the session of a revoked credential and refuses it afterwards', async () => {
    const issuer = await tokenIssuer();
    const log = new ControlledEventLog();
    const t = await testGateway({ jwksUrl: issuer.jwksUrl }, { eventLog: log });
    try {
      const token = await issuer.gateway('gw-9', site, { jti: 'jti-revoked' });
      const client = await connect(t.gw.mqttUrl, { clientId: 'gw-9', username: 'gw-9', password: token });
      const { createEvent, credentialRevokedV1, topics } = await import('@bitv/shared/events');
      const gone = closed(client);
      await log.publish(
        topics.registry,
        createEvent(credentialRevokedV1, {
          source: '/test',
          key: 'gw-9',
          data: {
            edgeNodeId: 'gw-9',
            jti: 'jti-revoked',
            expiresAt: new Date(Date.now() + 3600_000).toISOString(),
          },
        }),
      );
      await gone;
      expect(await connackCode(t.gw.mqttUrl, { clientId: 'gw-9', username: 'gw-9', password: token })).toBe(
        5,
      );
      expect(await metricValue(t.registry, 'bv_gateway_auth_failures_total', { reason: 'revoked' })).toBe(1);
    } finally {
      await t.close();
      await issuer.close();
    }
  });
});

function birth() {
  return { bdSeq: 0, agentVersion: 'test', outboxDepth: 0, oldestUnsentMs: 0 };
}

function b64url(value: object | string): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

function claims(extra: object) {
  const now = Math.floor(Date.now() / 1000);
  return { iss: testIssuer, aud: audiences.gateway, iat: now, exp: now + 3600, jti: 'x', ...extra };
}

/** `alg: none`: no signature at all. */
function unsignedToken(extra: object): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims(extra))}.`;
}

/** HS256 with a guessable secret: must be refused whatever the secret. */
function hmacToken(extra: object): string {
  const head = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims(extra))}`;
  return `${head}.${createHmac('sha256', 'secret').update(head).digest('base64url')}`;
}

describe('keys from a JWKS file', () => {
  it('verifies tokens against the file, follows its rotation, refuses to start on a broken one', async () => {
    const { utimes, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tempDir } = await import('@bitv/shared/testing');
    const issuer = await tokenIssuer();
    const dir = await tempDir('bv-gw-jwks-');
    try {
      const file = join(dir.path, 'jwks.json');
      await writeFile(file, JSON.stringify(issuer.jwks));
      const t = await testGateway({ jwksFile: file }, { eventLog: new ControlledEventLog() });
      try {
        const client = await connect(t.gw.mqttUrl, {
          clientId: 'gw-f',
          username: 'gw-f',
          password: await issuer.gateway('gw-f', site),
        });
        expect(client.connected).toBe(true);
        await client.endAsync();
        const forged = await issuer.gateway('gw-f', site, { forgedKey: true });
        expect(
          await connackCode(t.gw.mqttUrl, { clientId: 'gw-f', username: 'gw-f', password: forged }),
        ).toBe(4);
      } finally {
        await t.close();
      }
      // rotation: the file is replaced; within the check interval the new key is in force, the old
      // one refused, and a broken replacement keeps the keys that work
      const rotating = await testGateway(
        { jwksFile: file, jwksFileCheckMs: 0 },
        { eventLog: new ControlledEventLog() },
      );
      try {
        const code = async (token: string) =>
          connackCode(rotating.gw.mqttUrl, { clientId: 'gw-r', username: 'gw-r', password: token });
        const before = await issuer.gateway('gw-r', site);
        const after = await issuer.gateway('gw-r', site, { forgedKey: true });
        expect(await code(before)).toBe(0);
        await writeFile(file, JSON.stringify(issuer.rotatedJwks));
        await utimes(file, new Date(), new Date(Date.now() + 2_000));
        expect(await code(after)).toBe(0);
        expect(await code(before)).toBe(4);
        expect(
          await metricValue(rotating.registry, 'bv_gateway_key_reloads_total', { result: 'loaded' }),
        ).toBe(1);
        await writeFile(file, '{"keys": [tru');
        await utimes(file, new Date(), new Date(Date.now() + 4_000));
        expect(await code(after)).toBe(0);
        expect(
          await metricValue(rotating.registry, 'bv_gateway_key_reloads_total', { result: 'failed' }),
        ).toBe(1);
      } finally {
        await rotating.close();
      }

      const broken = join(dir.path, 'broken.json');
      await writeFile(broken, '{"not":"a jwks"}');
      await expect(testGateway({ jwksFile: broken }, { eventLog: new ControlledEventLog() })).rejects.toThrow(
        /no "keys" array/,
      );
      await expect(testGateway({}, { eventLog: new ControlledEventLog() })).rejects.toThrow(/BV_JWKS_URL/);
    } finally {
      await dir.remove();
      await issuer.close();
    }
  });
});

import { provision } from '@bitv/edge-agent';
import { type GatewayHandle, startGateway } from '@bitv/gateway';
import { silentLogger } from '@bitv/shared/log';
import { eventually } from '@bitv/shared/testing';
import { generateKeyPair, SignJWT } from 'jose';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, startTestCloud, type TestCloud } from './harness.js';

// Cross-component: the real gateway verifies credentials the cloud issued, through the cloud's
// JWKS over HTTP, and drops a session when the cloud revokes its credential (bv.registry).
let t: TestCloud;
let gateway: GatewayHandle;

beforeAll(async () => {
  t = await startTestCloud('pglite');
  await t.cloud.seedDemo({ shelves: [{ serialNumber: 'P1', bins: [{ unitWeightG: 10, count: 1 }] }] });
  gateway = await startGateway(
    { mqttPort: 0, wsPort: -1, opsPort: -1, jwksUrl: t.cloud.jwksUrl, jwtIssuer: 'bitvelocity' },
    { eventLog: t.eventLog, logger: silentLogger },
  );
  t.cloud.setBrokerUrl(gateway.mqttUrl);
});
afterAll(async () => {
  await gateway?.close();
  await t?.close();
});

const connect = (username: string, password: string) =>
  mqtt.connectAsync(gateway.mqttUrl, {
    username,
    password,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    clientId: username,
  });

describe('provisioning against the real gateway', () => {
  it('claim -> credential -> the agent connects; a forged credential is refused; a revoked one is dropped', async () => {
    const claimToken = await t.cloud.createClaimToken({ siteId: 'demo-site', gatewayId: 'gw-demo-1' });
    const result = await provision({ claimToken, cloudUrl: t.cloud.url, hostname: 'test-box' });
    expect(result).toMatchObject({
      gatewayId: 'gw-demo-1',
      groupId: 'demo-site',
      brokerUrl: gateway.mqttUrl,
    });

    const client = await connect(result.edgeNodeId, result.credential);
    expect(client.connected).toBe(true);

    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ kind: 'gateway', group: 'demo-site' })
      .setProtectedHeader({ alg: 'ES256', kid: t.cloud.services.keys.current.kid })
      .setIssuer('bitvelocity')
      .setAudience('bitv-gateway')
      .setSubject('gw-evil')
      .setJti('forged-1')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    await expect(connect('gw-evil', forged)).rejects.toThrow();
    // Not someone else's credential either: username must be the credential's edge node id.
    await expect(connect('gw-other', result.credential)).rejects.toThrow();

    const operator = await t.token('operator');
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const revoke = await t.cloud.app.request(
      '/api/v1/gateways/gw-demo-1/credential/revoke',
      authed(operator, {}),
    );
    expect(revoke.status).toBe(200);
    await closed;
    await eventually(
      async () => {
        try {
          const again = await connect(result.edgeNodeId, result.credential);
          await again.endAsync();
          return false;
        } catch {
          return true;
        }
      },
      'revoked credential refused',
      10_000,
    );
  });
});

import { type CloudHandle, startCloud } from '@bitv/cloud';
import { provision } from '@bitv/edge-agent';
import { type GatewayHandle, startGateway } from '@bitv/gateway';
import { type Database, openDatabase } from '@bitv/shared/db';
import { createEventLog, type EventLog } from '@bitv/shared/event-log';
import { platformEvents } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { eventually } from '@bitv/shared/testing';
import { generateKeyPair, SignJWT } from 'jose';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Across components, so it lives with the composition root: the real gateway verifies the
// credential the cloud issued (through the cloud's JWKS over HTTP), the agent's own provisioning
// code claims it, and the gateway drops the session when the cloud revokes it (bv.registry).
const admin = { email: 'admin@provisioning.test', password: 'provisioning-pw-1' };
let database: Database;
let eventLog: EventLog;
let cloud: CloudHandle;
let gateway: GatewayHandle;

beforeAll(async () => {
  const registry = createRegistry();
  database = await openDatabase();
  eventLog = await createEventLog({
    database,
    registry: platformEvents(),
    metrics: registry,
    databaseLog: { pollIntervalMs: 50, retentionIntervalMs: 0 },
  });
  cloud = await startCloud(
    { port: 0, grpcPort: -1, admin },
    { database, eventLog, logger: silentLogger, registry },
  );
  await cloud.seedDemo({ shelves: [{ serialNumber: 'P1', bins: [{ unitWeightG: 10, count: 1 }] }] });
  gateway = await startGateway(
    { mqttPort: 0, wsPort: -1, opsPort: -1, jwksUrl: cloud.jwksUrl, jwtIssuer: 'bitvelocity' },
    { eventLog, logger: silentLogger },
  );
  cloud.setBrokerUrl(gateway.mqttUrl);
});

afterAll(async () => {
  await gateway?.close();
  await cloud?.close();
  await eventLog?.close();
  await database?.close();
});

const connect = (username: string, password: string) =>
  mqtt.connectAsync(gateway.mqttUrl, {
    username,
    password,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    clientId: username,
  });

async function operatorToken(): Promise<string> {
  const response = await fetch(`${cloud.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admin),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

describe('provisioning against the real gateway', () => {
  it('claim -> credential -> the agent connects; a forged credential is refused; a revoked one is dropped', async () => {
    const claimToken = await cloud.createClaimToken({ siteId: 'demo-site', gatewayId: 'gw-demo-1' });
    const result = await provision({ claimToken, cloudUrl: cloud.url, hostname: 'test-box' });
    expect(result).toMatchObject({
      gatewayId: 'gw-demo-1',
      groupId: 'demo-site',
      brokerUrl: gateway.mqttUrl,
    });
    await expect(provision({ claimToken, cloudUrl: cloud.url })).rejects.toThrow();

    const client = await connect(result.edgeNodeId, result.credential);
    expect(client.connected).toBe(true);

    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ kind: 'gateway', group: 'demo-site' })
      .setProtectedHeader({ alg: 'ES256', kid: cloud.services.keys.current.kid })
      .setIssuer('bitvelocity')
      .setAudience('bitv-gateway')
      .setSubject('gw-evil')
      .setJti('forged-1')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    await expect(connect('gw-evil', forged)).rejects.toThrow();
    // Not someone else's credential either: the username must be the credential's edge node id.
    await expect(connect('gw-other', result.credential)).rejects.toThrow();

    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const revoke = await fetch(`${cloud.url}/api/v1/gateways/gw-demo-1/credential/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await operatorToken()}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(revoke.status).toBe(200);
    await closed;
    await eventually(
      async () => {
        try {
          const again = await connect(result.edgeNodeId, result.credential);
          await again.endAsync();
          return false;
        } catch {
          // Refused, as it should be once the revocation has reached the broker.
          return true;
        }
      },
      'revoked credential refused',
      10_000,
    );
  });
});

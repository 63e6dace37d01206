import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { topics } from '@bitv/shared/events';
import { tempDir } from '@bitv/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlledEventLog } from './helpers/event-log.js';
import { collect, connect, grant, type TestGateway, testGateway } from './helpers/gateway.js';
import { edgeNode } from './helpers/sparkplug.js';
import { type TokenIssuer, tokenIssuer } from './helpers/tokens.js';

const site = 'site-d';

describe('TLS and WebSocket listeners', () => {
  let issuer: TokenIssuer;
  let t: TestGateway;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let ca: Buffer;
  const log = new ControlledEventLog();

  beforeAll(async () => {
    issuer = await tokenIssuer();
    dir = await tempDir('bv-gw-tls-');
    const key = join(dir.path, 'key.pem');
    const cert = join(dir.path, 'cert.pem');
    // a self-signed certificate for 127.0.0.1 (the test's own CA)
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore', timeout: 20_000 },
    );
    ca = await readFile(cert);
    t = await testGateway(
      { jwksUrl: issuer.jwksUrl, tlsKeyFile: key, tlsCertFile: cert, liveTopics: true },
      { eventLog: log },
    );
  });
  afterAll(async () => {
    await t?.close();
    await issuer?.close();
    await dir?.remove();
  });

  it('bridges a gateway connected over TLS', async () => {
    expect(t.gw.mqttsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const client = await connect(t.gw.mqttsUrl!, {
      clientId: 'gw-tls',
      username: 'gw-tls',
      password: await issuer.gateway('gw-tls', site),
      ca,
      rejectUnauthorized: true,
    });
    const m = edgeNode(site, 'gw-tls').ddata('shelf-1', 1);
    await client.publishAsync(m.topic, m.payload, { qos: 1 });
    expect(log.of(topics.telemetry).some((e) => e.partitionkey === 'gw-tls')).toBe(true);
    await client.endAsync();
  });

  it('serves browsers MQTT over secure WebSocket with their user token and live JSON topics', async () => {
    expect(t.gw.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/mqtt$/);
    const browser = await connect(t.gw.wsUrl!, {
      clientId: 'sam:browser',
      username: 'sam',
      password: await issuer.user('sam', 'staff', { sites: [site] }),
      ca,
      rejectUnauthorized: true,
    } as never);
    const live = await collect(browser, `bv/${site}/#`, 0);
    expect(live.granted).toBe(0);
    expect(await grant(browser, `spBv1.0/${site}/#`, 0)).toBe(128);

    const device = await connect(t.gw.mqttsUrl!, {
      clientId: 'gw-ws',
      username: 'gw-ws',
      password: await issuer.gateway('gw-ws', site),
      ca,
    });
    const m = edgeNode(site, 'gw-ws').ddata('shelf-5', 2);
    await device.publishAsync(m.topic, m.payload, { qos: 1 });
    const { eventually } = await import('@bitv/shared/testing');
    const message = await eventually(
      () => live.messages.find((x) => x.topic === `bv/${site}/telemetry/gw-ws/shelf-5`),
      'live readings over WebSocket',
    );
    const data = JSON.parse(message.payload.toString()) as { readings: { seq: number }[] };
    expect(data.readings.map((r) => r.seq)).toEqual([m.firstSeq, m.firstSeq + 1]);
    await Promise.all([browser.endAsync(), device.endAsync()]);
  });
});

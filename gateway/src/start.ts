import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { ValidationError } from '@bitv/shared/errors';
import { consumersHealth, type EventLog, type Subscription } from '@bitv/shared/event-log';
import { type Logger, silentLogger } from '@bitv/shared/log';
import { createRegistry, type Registry } from '@bitv/shared/metrics';
import { type OpsServer, startOpsServer } from '@bitv/shared/ops';
import { retry } from '@bitv/shared/retry';
import { Aedes } from 'aedes';
import type { JWTVerifyGetKey } from 'jose';
import { createAuthenticator } from './auth/authenticator.js';
import { loadKeys } from './auth/keys.js';
import { startRevocationFeed } from './auth/revocation-feed.js';
import { RevocationList } from './auth/revocations.js';
import { startDownlink } from './bridge/downlink.js';
import { HostState } from './bridge/host-state.js';
import { BridgePipeline } from './bridge/pipeline.js';
import { createRebirthTracker } from './bridge/rebirth.js';
import { createUplink } from './bridge/uplink.js';
import { connectionHandler } from './broker/connection.js';
import { createHooks } from './broker/hooks.js';
import { type Listener, listenTcp, listenTls, listenWebSocket, type TlsFiles } from './broker/listeners.js';
import { Sessions } from './broker/sessions.js';
import { type ClusterBackends, redisBackends } from './cluster/redis.js';
import { RoutedEmitter } from './cluster/routed-emitter.js';
import { type GatewayConfig, gatewayDefaults } from './config.js';
import { gatewayMetrics } from './metrics.js';

export interface GatewayDeps {
  /** Where bridged events go and commands come from (Kafka or the database log). */
  eventLog: EventLog;
  logger?: Logger;
  registry?: Registry;
  /** Token keys given directly (tests, the one-process launcher); else from jwksUrl/jwksFile. */
  keys?: JWTVerifyGetKey;
}

export interface GatewayHandle {
  nodeId: string;
  mqttUrl: string;
  mqttsUrl: string | undefined;
  wsUrl: string | undefined;
  opsUrl: string | undefined;
  broker: Aedes;
  /** Whether the bridge currently writes to the event log (and STATE says online). */
  bridgeHealthy(): boolean;
  close(): Promise<void>;
}

const healthEveryMs = 2_000;

/**
 * Starts one gateway node: the aedes broker on TCP (and TLS, WebSocket), authentication and ACL,
 * the bridge into the event log, the primary host STATE, the command downlink, the revocation
 * feed, and /healthz + /metrics. With `redisUrl` it joins the cluster sharing that Redis.
 */
export async function startGateway(
  config: Partial<GatewayConfig>,
  deps: GatewayDeps,
): Promise<GatewayHandle> {
  const cfg: GatewayConfig = { ...gatewayDefaults, ...config };
  const logger = (deps.logger ?? silentLogger).child({ component: 'gateway' });
  const registry = deps.registry ?? createRegistry();
  const metrics = gatewayMetrics(registry);
  const { eventLog } = deps;
  const nodeId = cfg.nodeId ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
  const source = `/bitv/gateway/${nodeId}`;

  if (cfg.mqttPort === 1883) throw new ValidationError('port 1883 belongs to Mosquitto; pick another');
  let keys: JWTVerifyGetKey | undefined = deps.keys;
  if (!cfg.allowAnonymous && !keys) {
    if (cfg.jwksUrl) keys = await loadKeys({ url: cfg.jwksUrl, cacheMaxAgeMs: cfg.jwksCacheMaxAgeMs });
    else if (cfg.jwksFile) {
      keys = await loadKeys({
        file: cfg.jwksFile,
        reload: {
          checkEveryMs: cfg.jwksFileCheckMs,
          onReload: ({ file, keys: count, error }) => {
            metrics.keyReloads.inc({ result: error ? 'failed' : 'loaded' });
            if (error)
              logger.error(
                { file, err: error.message },
                'JWKS file changed but cannot be used; keeping the previous keys',
              );
            else logger.info({ file, keys: count }, 'JWKS file reloaded');
          },
        },
      });
    } else
      throw new ValidationError('set BV_JWKS_URL or BV_JWKS_FILE (or --allow-anonymous for development)');
  }
  if (cfg.allowAnonymous) {
    logger.warn(
      '*** DEVELOPMENT MODE: --allow-anonymous: any client may connect and use any topic, tokens are ignored ***',
    );
  }
  let tls: TlsFiles | undefined;
  if (cfg.tlsKeyFile || cfg.tlsCertFile) {
    if (!cfg.tlsKeyFile || !cfg.tlsCertFile)
      throw new ValidationError('TLS needs both a key and a certificate');
    tls = { key: await readFile(cfg.tlsKeyFile), cert: await readFile(cfg.tlsCertFile) };
  }

  const revocations = new RevocationList();
  const sessions = new Sessions();
  const pipeline = new BridgePipeline({
    eventLog,
    metrics,
    logger: logger.child({ component: 'gateway.bridge' }),
    maxInflight: cfg.bridgeMaxInflight,
    maxInflightPerOwner: cfg.bridgeMaxInflightPerClient,
    maxBatch: cfg.bridgeMaxBatch,
    lanes: cfg.bridgeLanes,
    ackTimeoutMs: cfg.bridgeAckTimeoutMs,
  });
  const busDeps = { nodeId, metrics, logger: logger.child({ component: 'gateway.cluster' }) };
  const cluster: ClusterBackends | undefined = cfg.redisUrl
    ? await redisBackends(cfg.redisUrl, cfg.redisPrefix, busDeps)
    : undefined;
  const mq = cluster?.mq ?? (await RoutedEmitter.start(busDeps));

  let hostState: HostState | undefined;
  const rebirth = createRebirthTracker({
    broker: () => broker!,
    metrics,
    logger: logger.child({ component: 'gateway.rebirth' }),
    reorderTimeoutMs: cfg.reorderTimeoutMs,
  });
  let broker: Aedes | undefined;
  const hooks = createHooks({
    allowAnonymous: cfg.allowAnonymous,
    authenticate: keys ? createAuthenticator({ keys, issuer: cfg.jwtIssuer, revocations }) : undefined,
    primaryHostId: cfg.primaryHostId,
    sessions,
    metrics,
    logger,
    uplink: createUplink({
      pipeline,
      metrics,
      logger,
      source,
      liveTopics: cfg.liveTopics,
      broker: () => broker!,
      rebirth,
    }),
    forward: (packet) => (hostState ? hostState.forward(packet) : packet),
  });

  broker = new Aedes({
    id: nodeId,
    ...hooks,
    mq,
    ...(cluster ? { persistence: cluster.persistence } : {}),
    // Sparkplug edge node ids are up to 128 characters (MQTT 3.1.1 has no client id limit)
    maxClientsIdLength: 256,
    heartbeatInterval: 10_000,
  });
  await broker.listen();
  const b = broker;
  hostState = new HostState(b, cfg.primaryHostId, logger);
  const state = hostState;

  b.on('clientReady', (client) => {
    const kind = sessions.get(client)?.principal.kind ?? 'anonymous';
    metrics.connections.inc({ principal: kind });
    sessions.activate(client, (c) => {
      logger.info({ clientId: c.id }, 'token expired: closing connection');
      c.close();
    });
  });
  b.on('clientDisconnect', (client) => {
    const kind = sessions.get(client)?.principal.kind ?? 'anonymous';
    metrics.connections.dec({ principal: kind });
    sessions.remove(client);
  });
  b.on('clientError', (client, error) => {
    metrics.clientErrors.inc();
    logger.debug({ clientId: client.id, err: error.message }, 'client error');
  });
  b.on('connectionError', (_client, error) => {
    metrics.clientErrors.inc();
    logger.debug({ err: error.message }, 'connection error before CONNECT');
  });

  // Bridge health drives STATE: online only while the log takes writes.
  pipeline.onHealthChange((healthy) => void state.set(healthy));
  let closing = false;
  const checkHealth = async () => {
    try {
      await withDeadline(eventLog.ping(), 5_000);
      pipeline.reportPing(true);
    } catch (error) {
      metrics.eventLogErrors.inc({ operation: 'ping' });
      logger.debug({ err: String(error) }, 'event log ping failed');
      pipeline.reportPing(false);
    }
    // sampled with the health check, not set twice per message (it showed in the profile)
    metrics.bridgeInflight.set(pipeline.inflight);
    metrics.bridgeOldest.set(pipeline.oldestAgeSeconds());
  };
  metrics.bridgeHealthy.set(1);
  await checkHealth();
  await state.set(pipeline.healthy);
  const healthTimer = setInterval(() => {
    if (!closing) void checkHealth();
  }, healthEveryMs);
  healthTimer.unref();

  // Consumers: started in the background so a log that is down at start does not stop the broker.
  const subscriptions: Subscription[] = [];
  // Consumers not subscribed yet: without them commands and revocations do not arrive (unhealthy).
  const notStarted = new Set<string>();
  const consume = (what: string, start: () => Promise<Subscription>) => {
    notStarted.add(what);
    void retry(
      async () => {
        if (closing) return;
        const s = await start();
        if (closing) await s.close();
        else subscriptions.push(s);
        notStarted.delete(what);
      },
      {
        retries: Number.POSITIVE_INFINITY,
        initialDelayMs: 500,
        maxDelayMs: 10_000,
        shouldRetry: () => !closing,
        onRetry: ({ error }) => logger.warn({ err: String(error) }, `cannot subscribe (${what}), retrying`),
      },
    ).catch((error: unknown) => logger.error({ err: String(error) }, `${what} consumer not started`));
  };
  consume('revocations', () =>
    startRevocationFeed({
      eventLog,
      revocations,
      group: `bv-gateway-revocations-${nodeId}-${randomBytes(4).toString('hex')}`,
      logger,
      onRevoked: (jti, edgeNodeId) => {
        metrics.revocations.inc();
        for (const client of sessions.withJti(jti)) {
          logger.info({ clientId: client.id, edgeNodeId }, 'credential revoked: closing connection');
          client.close();
        }
      },
    }),
  );
  consume('commands', () =>
    startDownlink({
      eventLog,
      broker: b,
      hasRoute: (filter) => mq.hasRoute(filter),
      group: cfg.commandsGroup,
      source,
      metrics,
      logger,
    }),
  );

  const handle = connectionHandler(b, cfg.maxPacketBytes, metrics, logger);
  const listeners: Listener[] = [];
  let ops: OpsServer | undefined;
  try {
    const tcp = await listenTcp(cfg.host, cfg.mqttPort, handle);
    listeners.push(tcp);
    const tlsListener = tls ? await listenTls(cfg.host, cfg.tlsPort, tls, handle) : undefined;
    if (tlsListener) listeners.push(tlsListener);
    const ws =
      cfg.wsPort >= 0
        ? await listenWebSocket(cfg.host, cfg.wsPort, cfg.maxPacketBytes, tls, handle)
        : undefined;
    if (ws) listeners.push(ws);
    if (cfg.opsPort >= 0) {
      ops = await startOpsServer({
        host: cfg.host,
        port: cfg.opsPort,
        registry,
        health: () => {
          // A crashed consumer (restarting) or one never started means commands or revocations
          // stop reaching this node: unhealthy, with the reason, until it is back.
          const consumers = consumersHealth(eventLog.consumers());
          for (const what of notStarted) consumers.down[what] = 'not subscribed yet';
          const consumersOk = consumers.ok && notStarted.size === 0;
          return {
            ok: pipeline.healthy && !b.closed && consumersOk,
            checks: {
              node: nodeId,
              broker: b.closed ? 'closed' : 'listening',
              bridge: pipeline.healthy ? 'healthy' : 'event log unreachable',
              consumers: consumersOk ? 'running' : consumers.down,
              eventLog: eventLog.kind,
              inflight: pipeline.inflight,
              cluster: cfg.redisUrl ? 'redis' : 'single node',
              connections: b.connectedClients,
              anonymous: cfg.allowAnonymous,
            },
          };
        },
      });
    }
    logger.info(
      {
        node: nodeId,
        mqtt: tcp.url,
        mqtts: tlsListener?.url,
        ws: ws?.url,
        ops: ops?.url,
        cluster: !!cluster,
      },
      'gateway listening',
    );

    let closed: Promise<void> | undefined;
    return {
      nodeId,
      mqttUrl: tcp.url,
      mqttsUrl: tlsListener?.url,
      wsUrl: ws?.url,
      opsUrl: ops?.url,
      broker: b,
      bridgeHealthy: () => pipeline.healthy,
      close() {
        closed ??= (async () => {
          closing = true;
          clearInterval(healthTimer);
          // [tck-id-host-topic-phid-death-payload] the host goes offline before the broker stops
          await state.set(false);
          rebirth.close();
          await Promise.all(listeners.map((l) => l.close()));
          await Promise.allSettled(subscriptions.map((s) => s.close()));
          await new Promise<void>((resolve) => b.close(() => resolve()));
          await pipeline.close();
          await ops?.close();
          await cluster
            ?.close()
            .catch((error: unknown) => logger.warn({ err: String(error) }, 'redis close'));
          logger.info({ node: nodeId }, 'gateway closed');
        })();
        return closed;
      },
    };
  } catch (error) {
    closing = true;
    clearInterval(healthTimer);
    await Promise.all(listeners.map((l) => l.close()));
    await ops?.close();
    // Consumers that already subscribed would keep polling the log of a gateway that never started.
    await Promise.allSettled(subscriptions.map((s) => s.close()));
    await new Promise<void>((resolve) => b.close(() => resolve()));
    await pipeline.close();
    await cluster?.close().catch(() => undefined);
    throw error;
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

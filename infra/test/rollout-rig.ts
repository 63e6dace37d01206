import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CloudHandle } from '@bitv/cloud';
import type { SimulatedShelfHandle } from '@bitv/firmware-sim';
import type { GatewayHandle } from '@bitv/gateway';
import { commandRequestedV1, type TelemetryReadings, topics } from '@bitv/shared/events';
import { artifactKeys, generateReleaseKey, signImage } from '@bitv/shared/firmware';
import { folderObjectStore } from '@bitv/shared/object-store';
import { tempDir, uniqueName } from '@bitv/shared/testing';
import { e2eAdmin } from './browser.js';
import {
  type AgentProcess,
  agentProcess,
  startRigCloud,
  startRigGateway,
  startRigSimulation,
} from './gateway-rig.js';

/** What reached the cloud's event log, per shelf, as the cloud's consumers read it. */
export interface CloudLedger {
  /** device id -> reading seq -> the reading (JSON), for duplicates that differ. */
  readings: Map<string, Map<number, string>>;
  /** Readings that arrived again with other content (the same seq must mean the same reading). */
  conflicts: string[];
  /** `bv.telemetry.gap.v1` events: readings the agent declared lost. */
  gaps: unknown[];
  /** Shelf device ids that `firmware_update` commands were sent to, in order. */
  updatesSent: string[];
}

export interface RolloutRig {
  cloud: CloudHandle;
  gateway: GatewayHandle;
  shelves: SimulatedShelfHandle[];
  agent: AgentProcess;
  ledger: CloudLedger;
  /** Signs `image` with the release key and puts it in the folder store the agent fetches from. */
  publish(version: string, image: Uint8Array): Promise<void>;
  /** A JSON call to the cloud's API as the admin: status and body. */
  api<T>(path: string, body?: unknown, method?: string): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export interface RolloutRigOptions {
  shelves: number;
  /** Readings per second per shelf. */
  sampleRateHz: number;
}

/**
 * The whole command path of a firmware rollout in one process tree: the cloud (PGlite, the
 * database event log, every module, `BV_FIRMWARE_STORE` set), our gateway on the same log, N
 * simulated shelf controllers on TCP, and the real edge agent (`bitv-edge run`, its own process)
 * linked to all of them with a folder firmware store and the release's public key.
 */
export async function startRolloutRig(prefix: string, o: RolloutRigOptions): Promise<RolloutRig> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const dir = await tempDir(prefix);
    cleanups.push(dir.remove);
    const storeDir = join(dir.path, 'firmware-store');
    const release = generateReleaseKey();
    const publicKeyFile = join(dir.path, 'release.pub');
    await writeFile(publicKeyFile, release.publicKeyPem);
    const store = folderObjectStore(storeDir);

    const { eventLog, cloud, registry } = await startRigCloud(dir.path, cleanups, {
      firmwareStore: `file://${storeDir}`,
    });
    const simulation = await startRigSimulation(
      {
        scenario: {
          shelves: Array.from({ length: o.shelves }, () => ({ bins: 2, sampleRateHz: o.sampleRateHz })),
        },
        seed: 17,
      },
      cleanups,
    );
    const { gatewayId } = await cloud.seedDemo({
      shelves: simulation.shelves.map((s) => ({
        serialNumber: s.serialNumber,
        bins: Array.from({ length: s.bins }, () => ({ unitWeightG: 100, count: 5 })),
      })),
    });
    const gateway = await startRigGateway(eventLog, registry, cleanups);

    const ledger: CloudLedger = { readings: new Map(), conflicts: [], gaps: [], updatesSent: [] };
    const sub = await eventLog.subscribe({
      group: uniqueName('rollout-check'),
      topics: [topics.telemetry, topics.commands],
      fromBeginning: true,
      handler: async (event) => {
        if (event.type === 'bv.telemetry.gap.v1') ledger.gaps.push(event.data);
        if (event.type === commandRequestedV1.type) {
          const c = event.data as { deviceId?: string; command: { action: string } };
          if (c.command.action === 'firmware_update' && c.deviceId) ledger.updatesSent.push(c.deviceId);
        }
        if (event.type !== 'bv.telemetry.readings.v1') return;
        const data = event.data as TelemetryReadings;
        const seen = ledger.readings.get(data.deviceId) ?? new Map<number, string>();
        ledger.readings.set(data.deviceId, seen);
        for (const r of data.readings) {
          const text = JSON.stringify(r);
          const before = seen.get(r.seq);
          if (before !== undefined && before !== text) ledger.conflicts.push(`${data.deviceId} ${r.seq}`);
          seen.set(r.seq, text);
        }
      },
    });
    cleanups.push(() => sub.close());

    const agent = agentProcess(
      gateway.mqttUrl,
      simulation.shelves.map((s) => s.path).join(','),
      join(dir.path, 'edge'),
      gatewayId,
      { BV_FIRMWARE_STORE: `file://${storeDir}`, BV_FIRMWARE_PUBLIC_KEYS: publicKeyFile },
    );
    cleanups.push(() => agent.kill());

    const login = await cloud.app.request('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: e2eAdmin.email, password: e2eAdmin.password }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };

    return {
      cloud,
      gateway,
      shelves: simulation.shelves,
      agent,
      ledger,
      async publish(version, image) {
        const manifest = signImage(image, {
          privateKeyPem: release.privateKeyPem,
          target: 'shelf-controller',
          version,
        });
        const keys = artifactKeys('shelf-controller', version);
        await store.put(keys.image, image);
        // The manifest last: whoever finds it finds the image (docs/ota.md).
        await store.put(keys.manifest, Buffer.from(JSON.stringify(manifest)));
      },
      async api<T>(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') {
        const res = await cloud.app.request(path, {
          method,
          headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: res.status, body: (await res.json()) as T };
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type Database, dropSchema, openDatabase } from '@bitv/shared/db';
import { postgresUrl, uniqueName } from '@bitv/shared/testing';
import { sql } from 'kysely';
import { cliProcess } from './cli-process.js';

export interface LoopShelf {
  serialNumber: string;
  bins: { unitWeightG: number; count: number }[];
}

export interface LoopCloud {
  /** Copies of each reading seq of the shelf the cloud's inventory consumer handled (all its lives). */
  received(): Promise<Map<number, number>>;
  /** The stock count of each bin of the shelf, as the cloud holds (and shows) it. */
  counts(): Promise<number[]>;
  /** SIGKILLs the cloud process and starts it again (its consumer groups resume). */
  kill(): Promise<void>;
  output(): string;
  close(): Promise<void>;
}

/**
 * The cloud of the fault loop as its own process (loop-cloud-main.ts): its consumers on the loop's
 * Kafka, its database in its own schema on the test PostgreSQL, the shelf seeded with the goods
 * the simulator holds. A reading counts as delivered once the cloud's consumer has handled it.
 */
export async function startLoopCloud(input: {
  dir: string;
  brokers: string[];
  siteId: string;
  gatewayId: string;
  shelf: LoopShelf;
}): Promise<LoopCloud> {
  const schema = uniqueName('fault_loop');
  const database: Database = await openDatabase({ url: postgresUrl(), schema, poolSize: 2 });
  const recordFile = join(input.dir, 'cloud-received.txt');
  const { KAFKA_BROKERS: _k, DATABASE_URL: _d, REDIS_URL: _r, ...inherited } = process.env;
  const child = cliProcess('infra/test/loop-cloud-main.ts', [], {
    ...inherited,
    BV_LOOP_DATABASE_URL: postgresUrl(),
    BV_LOOP_SCHEMA: schema,
    BV_LOOP_KAFKA_BROKERS: input.brokers.join(','),
    BV_LOOP_RECORD_FILE: recordFile,
    BV_LOOP_SEED: JSON.stringify({ siteId: input.siteId, gatewayId: input.gatewayId, shelf: input.shelf }),
  });
  const start = async () => {
    child.start();
    const ready = `loop cloud ready ${child.pid()} `;
    const deadline = Date.now() + 120_000;
    while (!child.output().includes(ready)) {
      if (child.exited() || Date.now() > deadline) {
        throw new Error(`the cloud process did not start\n--- cloud ---\n${child.output()}`);
      }
      await delay(200);
    }
  };
  const close = async () => {
    await child.kill();
    await dropSchema(database, schema);
    await database.close();
  };
  // The caller gets nothing to clean up when the first start fails: clean up here.
  await start().catch(async (error: unknown) => {
    await close();
    throw error;
  });
  return {
    output: () => child.output(),
    received: async () => {
      const text = await readFile(recordFile, 'utf8').catch(() => '');
      const copies = new Map<number, number>();
      for (const line of text.split('\n')) {
        if (line) copies.set(Number(line), (copies.get(Number(line)) ?? 0) + 1);
      }
      return copies;
    },
    counts: async () => {
      const { rows } = await sql<{ bin: number; count: number }>`
        SELECT b.bin, b.count FROM bins b JOIN shelves s ON s.id = b.shelf_id
        WHERE s.serial_number = ${input.shelf.serialNumber} ORDER BY b.bin`.execute(database.kysely);
      return rows.map((r) => Number(r.count));
    },
    kill: async () => {
      await child.kill();
      await start();
    },
    close,
  };
}

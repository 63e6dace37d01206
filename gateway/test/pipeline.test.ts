import { randomUUID } from 'node:crypto';
import { ValidationError } from '@bitv/shared/errors';
import { topics } from '@bitv/shared/events';
import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { eventually } from '@bitv/shared/testing';
import { describe, expect, it } from 'vitest';
import { topicDigest } from '../src/bridge/message-id.js';
import { BridgePipeline, type Outgoing, type PipelineOptions } from '../src/bridge/pipeline.js';
import { gatewayMetrics } from '../src/metrics.js';
import { ControlledEventLog } from './helpers/event-log.js';

function reading(key: string, seq: number): Outgoing {
  return {
    topic: topics.telemetry,
    key,
    telemetry: {
      origin: [topicDigest(`${key}/${seq}`), Buffer.from(randomUUID())],
      source: '/test',
      subject: 'd',
      time: new Date(),
      data: {
        groupId: 'g',
        edgeNodeId: key,
        deviceId: 'd',
        historical: false,
        readings: [{ seq, time: new Date().toISOString(), bins: [{ bin: 0, weightG: 1 }] }],
      },
    },
  };
}

function pipeline(log: ControlledEventLog, o: Partial<PipelineOptions> = {}) {
  return new BridgePipeline({
    eventLog: log,
    metrics: gatewayMetrics(createRegistry()),
    logger: silentLogger,
    maxInflight: 100,
    maxInflightPerOwner: 10,
    maxBatch: 7,
    lanes: 3,
    ackTimeoutMs: 30_000,
    ...o,
  });
}

const seqsOf = (log: ControlledEventLog, key: string) =>
  log
    .of(topics.telemetry)
    .filter((e) => e.partitionkey === key)
    .flatMap((e) => (e.data as { readings: { seq: number }[] }).readings.map((r) => r.seq));

describe('bridge pipeline', () => {
  it('keeps the order per key across lanes, batches and waiting for capacity', async () => {
    const log = new ControlledEventLog();
    const p = pipeline(log);
    const owners = [{}, {}, {}];
    const done: Promise<void>[] = [];
    for (let seq = 1; seq <= 60; seq++) {
      for (const [i, owner] of owners.entries()) done.push(p.submit(owner, [reading(`gw-${i}`, seq)]));
    }
    await Promise.all(done);
    for (const i of [0, 1, 2])
      expect(seqsOf(log, `gw-${i}`)).toEqual(Array.from({ length: 60 }, (_, k) => k + 1));
    expect(p.inflight).toBe(0);
    await p.close();
  });

  it('admits at most maxInflightPerOwner messages of one owner', async () => {
    const log = new ControlledEventLog();
    log.hold();
    const p = pipeline(log, { maxInflightPerOwner: 4 });
    const owner = {};
    const done = Array.from({ length: 10 }, (_, i) => p.submit(owner, [reading('gw', i)]));
    await eventually(() => log.heldCount > 0, 'a publish');
    expect(p.inflight).toBe(4);
    log.release();
    await Promise.all(done);
    expect(seqsOf(log, 'gw')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await p.close();
  });

  it('retries while the log is down, then settles everything in order', async () => {
    const log = new ControlledEventLog();
    log.down = true;
    const p = pipeline(log);
    let healthy = true;
    p.onHealthChange((h) => {
      healthy = h;
    });
    const done = Array.from({ length: 5 }, (_, i) => p.submit({}, [reading('gw', i)]));
    await eventually(() => !healthy, 'unhealthy');
    log.down = false;
    await Promise.all(done);
    expect(healthy).toBe(true);
    expect(seqsOf(log, 'gw')).toEqual([0, 1, 2, 3, 4]);
    await p.close();
  });

  it('rejects what is not durable in time and does not send it later', async () => {
    const log = new ControlledEventLog();
    log.down = true;
    const p = pipeline(log, { ackTimeoutMs: 200 });
    await expect(p.submit({}, [reading('gw', 1)])).rejects.toThrow(/not durable/);
    log.down = false;
    // the gateway's periodic ping: the log answers again, the lane stops waiting out its backoff
    p.reportPing(true);
    await p.submit({}, [reading('gw', 2)]);
    expect(seqsOf(log, 'gw')).toEqual([2]);
    await p.close();
  });

  it('rejects a batch the log refuses for good', async () => {
    const log = new ControlledEventLog();
    log.publish = async () => {
      throw new ValidationError('record too large');
    };
    const p = pipeline(log);
    await expect(p.submit({}, [reading('gw', 1)])).rejects.toThrow(/too large/);
    expect(p.inflight).toBe(0);
    await p.close();
  });

  it('merges the readings of one device in a batch into one record, in order', async () => {
    const log = new ControlledEventLog();
    log.hold();
    const p = pipeline(log, { maxBatch: 1000, lanes: 1 });
    const done: Promise<void>[] = [];
    for (let seq = 1; seq <= 30; seq++) {
      done.push(p.submit({}, [reading('gw-a', seq)]), p.submit({}, [reading('gw-b', seq)]));
    }
    await eventually(() => log.heldCount > 0, 'the first publish');
    log.release();
    await Promise.all(done);
    expect(seqsOf(log, 'gw-a')).toEqual(Array.from({ length: 30 }, (_, k) => k + 1));
    expect(seqsOf(log, 'gw-b')).toEqual(Array.from({ length: 30 }, (_, k) => k + 1));
    // the first message went alone; the 58 that queued behind it became one record per device
    expect(log.of(topics.telemetry).length).toBeLessThanOrEqual(4);
    await p.close();
  });
});

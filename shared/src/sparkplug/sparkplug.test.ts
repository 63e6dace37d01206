import { randomUUID } from 'node:crypto';
import { get } from 'sparkplug-payload';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { encodeReadingsFast } from './fast-readings.js';
import {
  binWeightMetric,
  commandResultMetrics,
  commandSubscriptions,
  decodeCommandResults,
  decodeCommands,
  decodeDeviceBirth,
  decodeGaps,
  decodeNodeBirth,
  decodeNodeDeath,
  decodeNodeHealth,
  decodePayload,
  decodeReadings,
  decodeState,
  deviceBirthMetrics,
  encodeCommands,
  encodeDeviceBirth,
  encodeNodeBirth,
  encodeNodeDeath,
  encodePayload,
  encodeReadings,
  encodeState,
  formatTopic,
  gapMetrics,
  isNewerState,
  nextBdSeq,
  nextSeq,
  nodeHealthMetrics,
  parseBinWeightMetric,
  parseTopic,
  readingMetrics,
  SeqCounter,
  seqGap,
  stateTopic,
  undeclaredMetrics,
} from './index.js';

const tahu = get('spBv1.0')!;

describe('topics', () => {
  it('parses node, device and STATE topics', () => {
    expect(parseTopic('spBv1.0/demo-site/NBIRTH/gw-1')).toEqual({
      type: 'NBIRTH',
      groupId: 'demo-site',
      edgeNodeId: 'gw-1',
    });
    expect(parseTopic('spBv1.0/demo-site/DDATA/gw-1/shelf-A1')).toEqual({
      type: 'DDATA',
      groupId: 'demo-site',
      edgeNodeId: 'gw-1',
      deviceId: 'shelf-A1',
    });
    expect(parseTopic('spBv1.0/STATE/bv-cloud')).toEqual({ type: 'STATE', hostId: 'bv-cloud' });
  });

  it('rejects what is not a Sparkplug topic', () => {
    for (const t of [
      'spBv1.0/g/DDATA/n', // device type without device
      'spBv1.0/g/NDATA/n/d', // node type with device
      'spBv1.0/g/XDATA/n',
      'spAv1.0/g/NDATA/n',
      'spBv1.0/STATE',
      'spBv1.0/STATE/a/b',
      'spBv1.0//NDATA/n',
      'spBv1.0/g/NDATA/+',
      'bv/shelves/1',
      '',
    ]) {
      expect(parseTopic(t), t).toBeNull();
    }
  });

  it('formats and round-trips, refusing wildcard ids', () => {
    const t = { type: 'DCMD', groupId: 'g', edgeNodeId: 'n', deviceId: 'd' } as const;
    expect(parseTopic(formatTopic(t))).toEqual(t);
    expect(stateTopic('h')).toBe('spBv1.0/STATE/h');
    expect(() => formatTopic({ type: 'NDATA', groupId: 'a/b', edgeNodeId: 'n' })).toThrow(ValidationError);
    expect(() => formatTopic({ type: 'NDATA', groupId: 'g', edgeNodeId: '#' })).toThrow(ValidationError);
    expect(commandSubscriptions('g', 'n')).toEqual(['spBv1.0/g/NCMD/n', 'spBv1.0/g/DCMD/n/+']);
  });
});

describe('sequence numbers', () => {
  it('wrap from 255 to 0', () => {
    expect(nextSeq(0)).toBe(1);
    expect(nextSeq(255)).toBe(0);
    expect(nextBdSeq(255)).toBe(0);
    const c = new SeqCounter();
    expect(c.birth()).toBe(0);
    const seen: number[] = [];
    for (let i = 0; i < 300; i++) seen.push(c.next());
    expect(seen[254]).toBe(255);
    expect(seen[255]).toBe(0);
    expect(c.birth()).toBe(0);
  });

  it('measures gaps across the wrap', () => {
    expect(seqGap(4, 5)).toBe(0);
    expect(seqGap(255, 0)).toBe(0);
    expect(seqGap(254, 1)).toBe(2);
  });
});

describe('readings in DDATA', () => {
  const readings = [
    {
      seq: 41,
      time: '2026-11-21T10:00:00.000Z',
      bins: [
        { bin: 0, weightG: 12.5 },
        { bin: 3, weightG: 1000.1 },
      ],
      temperatureC: 21.5,
    },
    { seq: 42, time: '2026-11-21T10:00:00.250Z', bins: [{ bin: 0, weightG: 12.4 }] },
  ];

  it('round-trips and keeps each reading its own timestamp', () => {
    const bytes = encodeReadings(readings, { seq: 7, historical: false, timestamp: 1 });
    expect(decodeReadings(bytes)).toEqual({ readings, historical: false });
    // Independent view through the Tahu codec: names, types and per-metric timestamps.
    const raw = tahu.decodePayload(bytes);
    expect(Number(raw.seq)).toBe(7);
    const names = raw.metrics!.map((m) => `${m.name}:${m.type}`);
    expect(names).toEqual([
      'reading/seq:UInt64',
      'bin/00/weight_g:Double',
      'bin/03/weight_g:Double',
      'temperature_c:Double',
      'reading/seq:UInt64',
      'bin/00/weight_g:Double',
    ]);
    expect(raw.metrics!.map((m) => Number(m.timestamp))).toEqual([
      ...Array(4).fill(Date.parse(readings[0]!.time)),
      ...Array(2).fill(Date.parse(readings[1]!.time)),
    ]);
  });

  it('marks historical readings on every metric', () => {
    const bytes = encodeReadings(readings, { seq: 0, historical: true });
    expect(decodeReadings(bytes).historical).toBe(true);
    expect(tahu.decodePayload(bytes).metrics!.every((m) => m.isHistorical === true)).toBe(true);
  });

  it('ignores command results and unknown metrics in the same payload', () => {
    const id = randomUUID();
    const bytes = encodeReadings(readings.slice(0, 1), {
      seq: 1,
      historical: false,
      extraMetrics: [
        ...commandResultMetrics([{ id, status: 'done' }]),
        { name: 'vendor/x', type: 'Int32', value: 5 },
      ],
    });
    expect(decodeReadings(bytes).readings).toEqual(readings.slice(0, 1));
    expect(decodeCommandResults(bytes)).toEqual([{ id, status: 'done' }]);
  });

  it('refuses malformed reading payloads', () => {
    const t = Date.now();
    const orphan = encodePayload({
      seq: 0,
      metrics: [{ name: 'bin/01/weight_g', type: 'Double', value: 1, timestamp: t }],
    });
    expect(() => decodeReadings(orphan)).toThrow(ValidationError);
    const mixed = encodePayload({
      seq: 0,
      metrics: [
        { name: 'reading/seq', type: 'UInt64', value: 1, timestamp: t, isHistorical: true },
        { name: 'reading/seq', type: 'UInt64', value: 2, timestamp: t },
      ],
    });
    expect(() => decodeReadings(mixed)).toThrow(/mixes/);
    expect(() => decodePayload(Uint8Array.from([0xff, 0xff, 0xff, 0x01]))).toThrow(ValidationError);
  });

  it('names bins with two digits', () => {
    expect(binWeightMetric(3)).toBe('bin/03/weight_g');
    expect(binWeightMetric(120)).toBe('bin/120/weight_g');
    expect(parseBinWeightMetric('bin/03/weight_g')).toBe(3);
    expect(parseBinWeightMetric('bin/120/weight_g')).toBe(120);
    expect(parseBinWeightMetric('bin/3/weight_g')).toBeUndefined();
    expect(parseBinWeightMetric('bin/300/weight_g')).toBeUndefined();
    expect(parseBinWeightMetric('bin/03/weight_kg')).toBeUndefined();
  });
});

describe('births and deaths', () => {
  it('[tck-id-operational-behavior-data-publish-nbirth] NBIRTH declares every NDATA metric: health, gaps, command results (null = none yet)', () => {
    const now = Date.now();
    const birth = decodePayload(
      encodeNodeBirth({ bdSeq: 1, agentVersion: 'v', outboxDepth: 0, oldestUnsentMs: 0 }, now),
    );
    const declared = new Map(birth.metrics.map((m) => [m.name, m]));
    const ndata = [
      ...nodeHealthMetrics({
        outboxDepth: 1,
        oldestUnsentMs: 2,
        droppedTotal: 3,
        linksDown: 1,
        linkError: 'x',
      }),
      ...gapMetrics([{ device: 'd', kind: 'dropped', reason: 'r', fromSeq: 1, toSeq: 2, count: 2 }]),
      ...commandResultMetrics([{ id: randomUUID(), status: 'failed', reason: 'no' }]),
    ];
    for (const m of ndata) expect(declared.get(m.name)?.type, m.name).toBe(m.type);
    expect(undeclaredMetrics(new Set(declared.keys()), ndata)).toEqual([]);
    // [tck-id-operational-behavior-data-publish-nbirth-values] a value, or null when there is none yet
    expect(declared.get('outbox/dropped_total')?.value).toBe(0);
    expect(declared.get('command/id')?.value).toBeNull();
    expect(declared.get('outbox/gap/count')?.value).toBeNull();
  });

  it('[tck-id-operational-behavior-data-publish-dbirth] DBIRTH declares command results; undeclaredMetrics names what a re-birth must add', () => {
    const names = new Set(
      deviceBirthMetrics({
        serialNumber: 's',
        firmware: 'f',
        binCount: 2,
        bins: [
          { bin: 0, weightG: 1 },
          { bin: 1, weightG: 2 },
        ],
      }).map((m) => m.name),
    );
    const results = commandResultMetrics([{ id: randomUUID(), status: 'done' }]);
    expect(undeclaredMetrics(names, results)).toEqual([]);
    const third = [{ name: binWeightMetric(2), type: 'Double' as const, value: 5, timestamp: 7 }];
    expect(undeclaredMetrics(names, [...third, ...third])).toEqual([
      { name: 'bin/02/weight_g', type: 'Double', value: null, timestamp: 7 },
    ]);
  });

  it('NBIRTH carries seq 0, bdSeq, rebirth=false, outbox health and the links down', () => {
    const bytes = encodeNodeBirth({ bdSeq: 9, agentVersion: '0.1.0', outboxDepth: 5, oldestUnsentMs: 1200 });
    // The links metrics are declared even when none is down: NDATA may carry them later.
    expect(decodeNodeBirth(bytes)).toEqual({
      bdSeq: 9,
      agentVersion: '0.1.0',
      outboxDepth: 5,
      oldestUnsentMs: 1200,
      droppedTotal: 0,
      linksDown: 0,
      linkError: '',
    });
    const degraded = encodeNodeBirth({
      bdSeq: 9,
      agentVersion: '0.1.0',
      outboxDepth: 0,
      oldestUnsentMs: 0,
      linksDown: 1,
      linkError: 'serial:/dev/ttyNOPE: No such file or directory',
    });
    expect(decodeNodeBirth(degraded)).toMatchObject({
      linksDown: 1,
      linkError: 'serial:/dev/ttyNOPE: No such file or directory',
    });
    expect(tahu.decodePayload(degraded).metrics!.find((m) => m.name === 'links/error')?.type).toBe('String');
    const raw = tahu.decodePayload(bytes);
    expect(Number(raw.seq)).toBe(0);
    const rebirth = raw.metrics!.find((m) => m.name === 'Node Control/Rebirth');
    expect(rebirth).toMatchObject({ type: 'Boolean', value: false });
    expect(raw.metrics!.find((m) => m.name === 'bdSeq')?.type).toBe('UInt64');
  });

  it('NDEATH carries only bdSeq and no seq', () => {
    const raw = tahu.decodePayload(encodeNodeDeath(200));
    expect(raw.seq ?? undefined).toBeUndefined();
    expect(raw.metrics!.map((m) => m.name)).toEqual(['bdSeq']);
    expect(decodeNodeDeath(encodeNodeDeath(200))).toEqual({ bdSeq: 200 });
  });

  it('DBIRTH describes the shelf', () => {
    const birth = {
      serialNumber: 'A1',
      firmware: '1.2.0',
      binCount: 2,
      bins: [
        { bin: 0, weightG: 1 },
        { bin: 1, weightG: 2 },
      ],
      temperatureC: 20,
      lastSeq: 77,
    };
    const bytes = encodeDeviceBirth(birth, 1);
    expect(decodeDeviceBirth(bytes)).toEqual(birth);
    expect(Number(tahu.decodePayload(bytes).seq)).toBe(1);
  });

  it("DBIRTH carries each bin's pick-to-light state: off, lit, or null when unknown", () => {
    const birth = {
      serialNumber: 'A1',
      firmware: '1.2.0',
      binCount: 3,
      bins: [],
      lastSeq: 0,
      lights: [
        { bin: 0, light: 'off' as const },
        { bin: 1, light: { color: '#ffcc00', blink: 'slow' as const } },
        { bin: 2, light: null },
      ],
    };
    const bytes = encodeDeviceBirth(birth, 1);
    const names = decodePayload(bytes).metrics.map((m) => m.name);
    expect(names).toContain('bin/01/led');
    expect(decodeDeviceBirth(bytes).lights).toEqual(birth.lights);
    // A value that is not a light is skipped; the birth itself stands.
    const bad = encodePayload({
      seq: 2,
      metrics: [
        { name: 'device/serial', type: 'String', value: 'A1' },
        { name: 'device/firmware', type: 'String', value: '1' },
        { name: 'device/bin_count', type: 'UInt32', value: 2 },
        { name: 'bin/00/led', type: 'String', value: 'purple' },
        { name: 'bin/01/led', type: 'String', value: '#00FF00 fast' },
      ],
    });
    expect(decodeDeviceBirth(bad).lights).toBeUndefined();
  });

  it('NDATA health round-trips', () => {
    const bytes = encodePayload({ seq: 3, metrics: nodeHealthMetrics({ outboxDepth: 1, droppedTotal: 4 }) });
    expect(decodeNodeHealth(bytes)).toEqual({ outboxDepth: 1, oldestUnsentMs: undefined, droppedTotal: 4 });
  });
});

describe('commands', () => {
  it('round-trips commands and rebirth', () => {
    const a = { id: randomUUID(), action: { action: 'tare', bin: 3 } as const, expiresAt: 1_900_000_000_000 };
    const b = {
      id: randomUUID(),
      action: { action: 'set_led', bin: 1, color: '#00ff00', blink: 'slow' } as const,
    };
    const decoded = decodeCommands(encodeCommands({ commands: [a, b], rebirth: true }));
    expect(decoded.rebirth).toBe(true);
    expect(decoded.rejected).toEqual([]);
    expect(decoded.commands).toEqual([a, { ...b, expiresAt: undefined }]);
  });

  it('rejects bad commands one by one, keeping their ids', () => {
    const good = randomUUID();
    const badJson = randomUUID();
    const unknown = randomUUID();
    const big = randomUUID();
    const t = Date.now();
    const s = (name: string, value: string) => ({ name, type: 'String' as const, value, timestamp: t });
    const bytes = encodePayload({
      metrics: [
        s('command/id', badJson),
        s('command/json', '{not json'),
        s('command/id', unknown),
        s('command/json', '{"action":"explode"}'),
        s('command/id', big),
        s('command/json', JSON.stringify({ action: 'tare', bin: 1, pad: 'x'.repeat(5000) })),
        s('command/id', 'not-a-uuid'),
        s('command/json', '{"action":"reboot"}'),
        s('command/json', '{"action":"reboot"}'),
        s('command/id', good),
        s('command/json', '{"action":"reboot"}'),
        { name: 'something/else', type: 'Int32', value: 1, timestamp: t },
      ],
    });
    const d = decodeCommands(bytes, { maxCommandBytes: 4096 });
    expect(d.commands).toEqual([{ id: good, action: { action: 'reboot' }, expiresAt: undefined }]);
    expect(d.rejected.map((r) => r.id)).toEqual([badJson, unknown, big, undefined]);
    expect(d.rejected[0]!.reason).toMatch(/not JSON/);
    expect(d.rejected[2]!.reason).toMatch(/larger than 4096/);
    expect(d.rejected[3]!.reason).toMatch(/UUID/);
    expect(d.unknownMetrics).toEqual(['something/else']);
  });

  it('bounds the number of commands per message', () => {
    const commands = Array.from({ length: 3 }, () => ({
      id: randomUUID(),
      action: { action: 'reboot' } as const,
    }));
    const d = decodeCommands(encodeCommands({ commands }), { maxCommands: 2 });
    expect(d.commands).toHaveLength(2);
    expect(d.rejected).toHaveLength(1);
  });

  it('results round-trip and refuse unknown statuses', () => {
    const id = randomUUID();
    const ok = encodePayload({
      seq: 1,
      metrics: commandResultMetrics([{ id, status: 'failed', reason: 'NACK 3' }]),
    });
    expect(decodeCommandResults(ok)).toEqual([{ id, status: 'failed', reason: 'NACK 3' }]);
    const bad = encodePayload({
      seq: 1,
      metrics: [
        { name: 'command/id', type: 'String', value: id },
        { name: 'command/status', type: 'String', value: 'maybe' },
      ],
    });
    expect(() => decodeCommandResults(bad)).toThrow(ValidationError);
  });
});

describe('STATE', () => {
  it('is JSON online/timestamp and ignores stale messages', () => {
    const s = { online: true, timestamp: 10 };
    expect(decodeState(encodeState(s))).toEqual(s);
    expect(() => decodeState(Buffer.from('ONLINE'))).toThrow(ValidationError);
    expect(() => decodeState(Buffer.from('{"online":"yes","timestamp":1}'))).toThrow(ValidationError);
    expect(isNewerState(s, { online: false, timestamp: 9 })).toBe(false);
    expect(isNewerState(s, { online: false, timestamp: 11 })).toBe(true);
  });
});

describe('gap reports', () => {
  it('round-trip in NDATA', () => {
    const gaps = [
      { device: 'shelf-A', kind: 'dropped', reason: 'outbox full', fromSeq: 1, toSeq: 10, count: 10 },
      { device: 'shelf-B', kind: 'link', reason: 'frames not received', fromSeq: 65530, toSeq: 3, count: 9 },
    ] as const;
    const bytes = encodePayload({
      seq: 2,
      metrics: [...nodeHealthMetrics({ droppedTotal: 10 }), ...gapMetrics(gaps)],
    });
    expect(decodeGaps(bytes)).toEqual(gaps);
  });
});

describe('fast DDATA writer', () => {
  it('writes exactly the bytes the Tahu codec writes', () => {
    const readings = Array.from({ length: 40 }, (_, i) => ({
      seq: i * 1_000_003 + 1,
      time: 1_763_700_000_000 + i * 37,
      bins: Array.from({ length: (i % 5) + 1 }, (_, b) => ({
        bin: b * 31,
        weightG: (i - 20) * 12.345 + b / 7,
      })),
      ...(i % 3 === 0 ? {} : { temperatureC: -5 + i / 3 }),
    }));
    for (const historical of [false, true]) {
      for (const seq of [0, 127, 128, 255]) {
        const fast = encodeReadingsFast(readings, seq, historical, 1_763_700_123_456);
        expect(encodeReadings(readings, { seq, historical, timestamp: 1_763_700_123_456 })).toEqual(fast);
        const tahuBytes = encodePayload({
          timestamp: 1_763_700_123_456,
          seq,
          metrics: readingMetrics(readings, historical),
        });
        expect(Buffer.from(fast).equals(Buffer.from(tahuBytes))).toBe(true);
        expect(decodeReadings(fast).readings.map((r) => r.seq)).toEqual(readings.map((r) => r.seq));
      }
    }
  });
});

describe('64-bit integers', () => {
  const roundTrip = (type: 'Int64' | 'UInt64', value: number) =>
    decodePayload(encodePayload({ seq: 0, metrics: [{ name: 'v', type, value, timestamp: 1 }] })).metrics[0]
      ?.value;

  it('decodes signed and unsigned values exactly up to 2^53', () => {
    for (const v of [
      0,
      1,
      0x7fff_ffff,
      0x8000_0000,
      0xffff_ffff,
      2 ** 32 + 7,
      2 ** 40 + 2 ** 31 + 5,
      2 ** 53 - 1,
    ])
      expect(roundTrip('UInt64', v)).toBe(v);
    for (const v of [-1, -0x8000_0000, -(2 ** 32) - 1, -(2 ** 40) + 3, -(2 ** 53) + 1, 12_345])
      expect(roundTrip('Int64', v)).toBe(v);
  });

  it('refuses a value that a JS number cannot hold exactly', () => {
    expect(() => roundTrip('UInt64', 2 ** 53 + 2)).toThrow(ValidationError);
    expect(() => roundTrip('Int64', -(2 ** 53) - 2)).toThrow(ValidationError);
  });
});

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from './partition.js';

// kafkajs' own murmur2 (what its DefaultPartitioner hashes keys with), read from its sources.
const kafkajsMurmur2 = createRequire(import.meta.url)(
  'kafkajs/src/producer/partitioners/default/murmur2.js',
) as (key: string) => number;

describe('database log partitioner', () => {
  it('hashes keys exactly like Kafka (murmur2, kafkajs DefaultPartitioner)', () => {
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'gw-demo-1', 'shelf-00012345', 'ünïcödé', 'x'.repeat(101)];
    for (let i = 0; i < 500; i++) keys.push(`key-${i}-${(i * 7919) % 1000}`);
    for (const key of keys) expect(murmur2(Buffer.from(key, 'utf8'))).toBe(kafkajsMurmur2(key));
  });

  it('spreads keys over every partition and keeps each key on one', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const p = partitionForKey(`gw-${i}`, 4);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(4);
      expect(partitionForKey(`gw-${i}`, 4)).toBe(p);
      seen.add(p);
    }
    expect(seen.size).toBe(4);
  });
});

import { describe, expect, it } from 'vitest';
import { counter, createRegistry, histogram, hotCounter, hotHistogram } from './index.js';

describe('metrics for per-message code', () => {
  it('exports a hot histogram exactly as prom-client exports the same observations', async () => {
    const buckets = [0.001, 0.0025, 0.01, 0.1, 1];
    const ours = createRegistry();
    const theirs = createRegistry();
    const hot = hotHistogram(ours, 'lag_seconds', 'lag', buckets);
    const plain = histogram(theirs, 'lag_seconds', 'lag', [], buckets);
    for (const v of [0, 0.0005, 0.001, 0.002, 0.0025, 0.05, 0.5, 1, 3, 40]) {
      hot.observe(v);
      plain.observe(v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(hotHistogram(ours, 'lag_seconds', 'lag', buckets)).toBe(hot);
  });

  it('skips a value that is not a number instead of throwing', async () => {
    const registry = createRegistry();
    const hot = hotHistogram(registry, 'lag_seconds', 'lag', [1]);
    hot.observe(Number.NaN);
    hot.observe(0.5);
    expect(await registry.metrics()).toContain('lag_seconds_count 1');
  });

  it('adds hot counts to the counter when the registry is read, per series', async () => {
    const registry = createRegistry();
    const c = counter(registry, 'messages_total', 'messages', ['type']);
    const ddata = hotCounter(c, { type: 'DDATA' });
    expect(hotCounter(c, { type: 'DDATA' })).toBe(ddata);
    ddata.inc();
    ddata.inc(2);
    hotCounter(c, { type: 'NBIRTH' }).inc();
    c.inc({ type: 'DDATA' }); // the counter's own inc still counts alongside
    const text = await registry.metrics();
    expect(text).toContain('messages_total{type="DDATA"} 4');
    expect(text).toContain('messages_total{type="NBIRTH"} 1');
    ddata.inc();
    expect((await c.get()).values.find((v) => v.labels.type === 'DDATA')?.value).toBe(5);
    const plain = counter(registry, 'readings_total', 'readings');
    hotCounter(plain).inc(7);
    expect(await registry.metrics()).toContain('readings_total 7');
  });
});

import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

/** A GroupCommit whose work records each batch it was given. */
function recording(options: { minIntervalMs?: number }) {
  const batches: number[][] = [];
  const commit = new GroupCommit<number, number>(
    async (items) => {
      batches.push([...items]);
      return items.map((i) => (i < 0 ? new Error(`refused ${i}`) : i * 10));
    },
    { maxBatch: 10, maxInFlight: 1, ...options },
  );
  return { batches, commit };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('a lone request goes at once; each request gets its own answer', async () => {
    const { batches, commit } = recording({});
    await expect(commit.submit(1)).resolves.toBe(10);
    await expect(commit.submit(-2)).rejects.toThrow('refused -2');
    const third = commit.submit(3);
    await turn();
    const fourth = commit.submit(4);
    expect(await Promise.all([third, fourth])).toEqual([30, 40]);
    expect(batches).toEqual([[1], [-2], [3], [4]]);
  });

  it('with minIntervalMs, requests within the interval after a batch started wait and go together', async () => {
    const { batches, commit } = recording({ minIntervalMs: 1_000 });
    await commit.submit(1);
    const later = [commit.submit(2)];
    await turn();
    later.push(commit.submit(3));
    await turn();
    later.push(commit.submit(4));
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });
});

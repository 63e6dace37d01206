import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './index.js';

/**
 * The top-level keys of one JSON line in the order written, duplicates kept: JSON.parse (and its
 * reviver) sees only the last of two equal keys, so the text is scanned instead.
 */
function keysOf(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let end = i + 1;
      while (line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
      if (depth === 1 && line[end + 1] === ':') keys.push(JSON.parse(line.slice(i, end + 1)) as string);
      i = end;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('finds a repeated key (the check itself)', () => {
    expect(keysOf('{"a":1,"b":{"a":"x\\"y"},"a":2}')).toEqual(['a', 'b', 'a']);
  });

  it('writes each key once per line when a child repeats or renames a parent key', () => {
    const { lines, stream } = capture();
    const logger = createLogger('gateway', { base: { service: 'bitvelocity' }, destination: stream });
    logger.child({ component: 'gateway' }).info('same component again');
    logger
      .child({ component: 'gateway.cluster', service: 'bitvelocity' })
      .child({ node: 'n1' })
      .info({ clientId: 'c1' }, 'renamed component, nested child');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const keys = keysOf(line);
      expect(new Set(keys).size, line).toBe(keys.length);
    }
    expect(JSON.parse(lines[0] as string)).toMatchObject({ component: 'gateway', service: 'bitvelocity' });
    expect(JSON.parse(lines[1] as string)).toMatchObject({
      component: 'gateway.cluster',
      service: 'bitvelocity',
      node: 'n1',
      clientId: 'c1',
      msg: 'renamed component, nested child',
    });
  });

  it('keeps the level on children and lets a child choose its own', () => {
    const { lines, stream } = capture();
    const logger = createLogger('edge-agent', { level: 'warn', destination: stream });
    logger.child({ link: 'a' }).info('dropped');
    logger.child({ link: 'a' }).warn('kept');
    logger.child({ link: 'b' }, { level: 'debug' }).debug('kept too');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['kept', 'kept too']);
  });
});

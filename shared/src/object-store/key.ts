import { ValidationError } from '../errors/index.js';

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Refuses keys that could escape a folder store's root or mean different things to the two
 * stores (empty segments, `.`/`..`, characters S3 would need escaping for).
 */
export function checkKey(key: string): string {
  const ok =
    key.length > 0 &&
    key.length <= 512 &&
    key.split('/').every((s) => SEGMENT.test(s) && s !== '.' && s !== '..' && !s.startsWith('.tmp-'));
  if (!ok) throw new ValidationError(`object store: bad key ${JSON.stringify(key)}`, { details: { key } });
  return key;
}

export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  // A prefix may end in `/` or mid-segment; what precedes must be a valid key.
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  checkKey(trimmed);
  return prefix;
}

export function checkRange(range: { offset: number; length?: number }): void {
  const okOffset = Number.isSafeInteger(range.offset) && range.offset >= 0;
  const okLength = range.length === undefined || (Number.isSafeInteger(range.length) && range.length >= 0);
  if (!okOffset || !okLength)
    throw new ValidationError(`object store: bad range ${JSON.stringify(range)}`, { details: range });
}

import { describe, expect, it } from 'vitest';
import { formatPrice, fromMinor, toMinor } from './money.js';

describe('money in minor units', () => {
  it.each([
    ['19.99', 'EUR', 1999],
    ['19.9', 'EUR', 1990],
    ['19', 'EUR', 1900],
    ['0.07', 'USD', 7],
    ['1500', 'JPY', 1500],
    ['1.234', 'KWD', 1234],
    ['0.1', 'EUR', 10],
  ])('%s %s is %d', (amount, currency, minor) => {
    expect(toMinor(amount, currency)).toBe(minor);
    expect(toMinor(fromMinor(minor, currency), currency)).toBe(minor);
  });

  it('refuses more decimals than the currency has, signs and words', () => {
    expect(() => toMinor('1.5', 'JPY')).toThrow(/0 decimal/);
    expect(() => toMinor('1.999', 'EUR')).toThrow(/2 decimal/);
    expect(() => toMinor('-1', 'EUR')).toThrow(/plain amount/);
    expect(() => toMinor('ten', 'EUR')).toThrow(/plain amount/);
  });

  it('formats for people', () => {
    expect(formatPrice(1999, 'EUR')).toBe('€19.99');
    expect(formatPrice(null, null)).toBe('—');
  });
});

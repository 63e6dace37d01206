import { ValidationError } from '@bitv/shared';

/** Digits after the decimal point of a currency (EUR 2, JPY 0, KWD 3), from the runtime's ICU data. */
export function minorDigits(currency: string): number {
  return (
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  );
}

/** "19.99" EUR → 1999; exact decimal arithmetic on the text, never through a float. */
export function toMinor(amount: string, currency: string): number {
  const digits = minorDigits(currency);
  const match = /^(\d{1,13})(?:\.(\d+))?$/.exec(amount.trim());
  if (!match) throw new ValidationError(`price must be a plain amount like 19.99, got "${amount}"`);
  const [, whole = '0', fraction = ''] = match;
  if (fraction.length > digits)
    throw new ValidationError(
      `${currency} has ${digits} decimal place(s); "${amount}" has ${fraction.length}`,
    );
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}

export function fromMinor(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  if (digits === 0) return String(minor);
  const text = String(minor).padStart(digits + 1, '0');
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

export function formatPrice(minor: number | null, currency: string | null): string {
  if (minor === null || currency === null) return '—';
  return new Intl.NumberFormat('en', { style: 'currency', currency }).format(
    minor / 10 ** minorDigits(currency),
  );
}

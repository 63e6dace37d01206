import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '@bitv/shared';

/**
 * Both providers sign a notification with HMAC-SHA256 over `<unix seconds>.<raw body>` and a
 * shared secret (the scheme Stripe and Standard Webhooks use). A notification is accepted when the
 * signature matches (compared in constant time) and its timestamp is within the window: an old
 * notification replayed by someone who captured it is refused; the same id arriving twice inside the
 * window is the provider's at-least-once delivery and is deduplicated upstream by notification id.
 */
export interface SignatureCheck {
  secret: string;
  /** Seconds a notification's timestamp may be away from our clock (either way). */
  toleranceSeconds: number;
  now: () => Date;
}

/** Largest notification body we read; a larger one is refused before it is parsed. */
export const maxNotificationBytes = 64 * 1024;

export function verifySignature(
  check: SignatureCheck,
  body: string,
  timestampText: string | undefined,
  signatureHex: string | undefined,
): void {
  if (Buffer.byteLength(body, 'utf8') > maxNotificationBytes) {
    throw new ValidationError(`notification body exceeds ${maxNotificationBytes} bytes`, {
      details: { reason: 'too-large' },
    });
  }
  if (
    !timestampText ||
    !/^\d{1,12}$/.test(timestampText) ||
    !signatureHex ||
    !/^[0-9a-f]{64}$/i.test(signatureHex)
  ) {
    throw new ValidationError('notification is not signed (timestamp and signature headers required)', {
      details: { reason: 'unsigned' },
    });
  }
  const expected = createHmac('sha256', check.secret).update(`${timestampText}.${body}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(signatureHex, 'hex'))) {
    throw new ValidationError('notification signature does not match', { details: { reason: 'forged' } });
  }
  const age = Math.floor(check.now().getTime() / 1000) - Number(timestampText);
  if (Math.abs(age) > check.toleranceSeconds) {
    throw new ValidationError(
      `notification timestamp is ${age} s away from now (window ${check.toleranceSeconds} s): refused as a replay`,
      { details: { reason: 'stale' } },
    );
  }
}

/** Header lookup regardless of case (HTTP header names are case-insensitive, RFC 9110 §5.1). */
export function header(headers: Record<string, string>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

import { counter, type Registry } from '@bitv/shared/metrics';

/** What every provider adapter counts, labelled by provider name. */
export function providerMetrics(registry: Registry, provider: string) {
  const calls = counter(
    registry,
    'bv_payment_provider_calls_total',
    'provider calls by operation and result',
    ['provider', 'operation', 'result'],
  );
  const malformed = counter(
    registry,
    'bv_payment_provider_malformed_answers_total',
    'provider answers that did not parse as the provider’s wire format (never a crash)',
    ['provider'],
  );
  const refused = counter(
    registry,
    'bv_payment_provider_notifications_refused_total',
    'notifications refused: forged, stale (replay), malformed, too large',
    ['provider', 'reason'],
  );
  return {
    call: (operation: string, result: string) => calls.inc({ provider, operation, result }),
    malformed: () => malformed.inc({ provider }),
    refused: (reason: string) => refused.inc({ provider, reason }),
  };
}

export type ProviderMetrics = ReturnType<typeof providerMetrics>;

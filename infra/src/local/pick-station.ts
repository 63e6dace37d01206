import type { QuantitySource } from '@bitv/firmware-sim';

const requestTimeoutMs = 5_000;

/**
 * What the demo's picker reads at the pick station: how many units a lit bin still wants (its
 * line's quantity less what has left the bin), from the cloud's `GET /api/v1/sites/:id/pick`.
 * Undefined when the cloud is not up yet or the bin is not on the list (the picker then takes one).
 */
export function pickStationQuantity(
  station: () => { url: string; token: string; siteId: string } | undefined,
): QuantitySource {
  return async (serialNumber, bin) => {
    const s = station();
    if (!s) return undefined;
    const response = await fetch(`${s.url}/api/v1/sites/${encodeURIComponent(s.siteId)}/pick`, {
      headers: { authorization: `Bearer ${s.token}` },
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    if (!response.ok) return undefined;
    const { pick } = (await response.json()) as {
      pick: {
        lines: {
          shelfId: string | null;
          bin: number | null;
          quantity: number;
          taken: number;
          status: string;
        }[];
      } | null;
    };
    const line = pick?.lines.find(
      (l) => l.status === 'open' && l.shelfId === `shelf-${serialNumber}` && l.bin === bin,
    );
    return line ? line.quantity - line.taken : undefined;
  };
}

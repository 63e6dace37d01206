import { z } from 'zod';

export interface FlashSale {
  id: string;
  sku: string;
  siteId: string;
  title: string;
  startsAt: string;
  endsAt: string;
  quantity: number;
  perCustomerLimit: number;
  /** Units held by claims (placing or ordered); released claims give theirs back. */
  claimed: number;
  createdBy: string;
  createdAt: string;
}

export type SalePhase = 'upcoming' | 'live' | 'sold_out' | 'ended';

/** What the public stream sends: the countdown and what is left to buy. */
export interface SaleState {
  saleId: string;
  title: string;
  sku: string;
  phase: SalePhase;
  now: string;
  startsAt: string;
  endsAt: string;
  /** Seconds until the start (upcoming) or the end (live); 0 once over. */
  secondsLeft: number;
  quantity: number;
  claimed: number;
  /** Units the shelves hold for the SKU at the sale's site, less reservations (inventory's `available`). */
  available: number;
  /** What a buyer can still get: the sale's unclaimed quantity, capped by `available`. */
  remaining: number;
}

export const newSale = z
  .object({
    sku: z.string().min(1).max(64),
    siteId: z.string().min(1).max(128),
    title: z.string().trim().min(1).max(200).optional(),
    startsAt: z.string().datetime({ offset: true }),
    endsAt: z.string().datetime({ offset: true }),
    quantity: z.number().int().positive().max(1_000_000),
    perCustomerLimit: z.number().int().positive().max(1_000),
  })
  .strict()
  .refine((s) => Date.parse(s.endsAt) > Date.parse(s.startsAt), {
    message: 'endsAt must be after startsAt',
    path: ['endsAt'],
  });
export type NewSale = z.infer<typeof newSale>;

export function saleState(sale: FlashSale, available: number, now = new Date()): SaleState {
  const t = now.getTime();
  const start = Date.parse(sale.startsAt);
  const end = Date.parse(sale.endsAt);
  const unclaimed = sale.quantity - sale.claimed;
  const remaining = Math.max(0, Math.min(unclaimed, available));
  const phase: SalePhase =
    t < start ? 'upcoming' : t >= end ? 'ended' : remaining === 0 ? 'sold_out' : 'live';
  const secondsLeft = phase === 'upcoming' ? (start - t) / 1000 : phase === 'ended' ? 0 : (end - t) / 1000;
  return {
    saleId: sale.id,
    title: sale.title,
    sku: sale.sku,
    phase,
    now: now.toISOString(),
    startsAt: sale.startsAt,
    endsAt: sale.endsAt,
    secondsLeft: Math.max(0, Math.ceil(secondsLeft)),
    quantity: sale.quantity,
    claimed: sale.claimed,
    available,
    remaining,
  };
}

import { parseBinLedMetric, parseLight } from '@bitv/shared/sparkplug';
import type { CloudDb } from '../db/index.js';
import type { LiveHub } from '../live/hub.js';

/** A bin's pick-to-light state as the cloud keeps it (`color` null = not lit). */
export interface BinLight {
  shelfId: string;
  bin: number;
  color: string | null;
  blink: string | null;
}

/** `set_led` bin 255 means every bin of the shelf (docs/shelf-link.md [SL-BIN-1]). */
export const ALL_BINS = 255;

/**
 * Sets the light of one bin (or every bin, `ALL_BINS`) and returns the bins whose state changed,
 * for the hub. Runs in the caller's transaction.
 */
export async function setLight(
  trx: CloudDb,
  shelfId: string,
  bin: number,
  light: { color: string; blink: string } | null,
): Promise<BinLight[]> {
  const color = light?.color ?? null;
  const blink = light?.blink ?? null;
  const rows = await trx
    .updateTable('bins')
    .set({ lit_color: color, lit_blink: blink })
    .where('shelf_id', '=', shelfId)
    .$if(bin !== ALL_BINS, (q) => q.where('bin', '=', bin))
    .where((eb) =>
      eb.or([eb('lit_color', 'is distinct from', color), eb('lit_blink', 'is distinct from', blink)]),
    )
    .returning(['shelf_id', 'bin'])
    .execute();
  return rows.map((r) => ({ shelfId: r.shelf_id, bin: r.bin, color, blink }));
}

/**
 * The lights an ACKed `set_led` or `set_leds` leaves [SL-CMD-2] [SL-LED-2], unless the shelf was
 * born or went offline after the command was requested. Births and command results travel on
 * different topics, so a result can be handled after a birth that happened later (a reboot right
 * after the ACK); the birth then says what the LEDs show, and a result that may be older than it
 * must not light the bin again.
 */
export async function setLightsFromCommand(
  trx: CloudDb,
  shelfId: string,
  leds: readonly { bin: number; light: { color: string; blink: string } | null }[],
  requestedAt: Date,
): Promise<BinLight[]> {
  const shelf = await trx
    .selectFrom('shelves')
    .select('last_seen_at')
    .where('id', '=', shelfId)
    .executeTakeFirst();
  if (shelf?.last_seen_at && new Date(shelf.last_seen_at) >= requestedAt) return [];
  const changed: BinLight[] = [];
  for (const l of leds) changed.push(...(await setLight(trx, shelfId, l.bin, l.light)));
  return changed;
}

/**
 * Applies the lights a shelf's DBIRTH reports (`bin/NN/led` = `off` or `#rrggbb <blink>`): the
 * shelf is the truth about its LEDs (docs/sparkplug.md, "Pick-to-light"). Bins the birth says
 * nothing about (an unknown light, an agent that does not report lights) keep their state.
 */
export async function applyReportedLights(
  trx: CloudDb,
  shelfId: string,
  metrics: Readonly<Record<string, unknown>> | undefined,
): Promise<BinLight[]> {
  const changed: BinLight[] = [];
  for (const [name, value] of Object.entries(metrics ?? {})) {
    const bin = parseBinLedMetric(name);
    const light = bin === undefined ? undefined : parseLight(value);
    if (bin === undefined || light === undefined || light === null) continue;
    changed.push(...(await setLight(trx, shelfId, bin, light === 'off' ? null : light)));
  }
  return changed;
}

/**
 * Forgets the lights of shelves that went offline (DDEATH, or their gateway's NDEATH): the cloud
 * can no longer vouch for them (an unplugged controller has lost power; a stalled one may show
 * anything), so no bin is shown lit until the shelf's next birth says what it shows.
 */
export async function clearLights(
  trx: CloudDb,
  where: { shelfId: string } | { gatewayId: string },
): Promise<BinLight[]> {
  const shelves =
    'shelfId' in where
      ? [where.shelfId]
      : (
          await trx.selectFrom('shelves').select('id').where('gateway_id', '=', where.gatewayId).execute()
        ).map((s) => s.id);
  if (shelves.length === 0) return [];
  const rows = await trx
    .updateTable('bins')
    .set({ lit_color: null, lit_blink: null })
    .where('shelf_id', 'in', shelves)
    .where((eb) => eb.or([eb('lit_color', 'is not', null), eb('lit_blink', 'is not', null)]))
    .returning(['shelf_id', 'bin'])
    .execute();
  return rows.map((r) => ({ shelfId: r.shelf_id, bin: r.bin, color: null, blink: null }));
}

/** Live `light` messages for the dashboard (cloud/src/dashboard/assets.ts `onLight`). */
export function announceLights(hub: LiveHub, siteId: string, lights: readonly BinLight[]): void {
  for (const l of lights) hub.publish({ type: 'light', siteId, ...l });
}

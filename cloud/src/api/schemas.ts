import { roles } from '@bitv/shared/auth';
import { commandAction } from '@bitv/shared/events';
import { z } from 'zod';
import type { Command } from '../commands/commands.js';
import type { Alert, BinView, Stock } from '../inventory/inventory.js';
import type { Reservation } from '../inventory/reservations.js';
import type { Aisle, Gateway, Shelf, Site } from '../registry/registry.js';

/** Request and response schemas of the REST API; each response schema is checked against its service type. */
export const slug = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit');
const isoTime = z.string().describe('ISO 8601 time');
const nullableTime = isoTime.nullable();

export const siteSchema: z.ZodType<Site> = z.object({ id: z.string(), name: z.string() });
export const aisleSchema: z.ZodType<Aisle> = z.object({
  id: z.string(),
  siteId: z.string(),
  name: z.string(),
  position: z.number().int(),
});
export const gatewaySchema: z.ZodType<Gateway> = z.object({
  id: z.string(),
  siteId: z.string(),
  aisleId: z.string().nullable(),
  name: z.string(),
  status: z.enum(['unclaimed', 'provisioned', 'decommissioned']),
  online: z.boolean(),
  hostname: z.string().nullable(),
  agentVersion: z.string().nullable(),
  queueDepth: z.number().int().nullable(),
  oldestUnsentMs: z.number().nullable(),
  linksDown: z.number().int().nullable().describe('device links (serial ports) the agent cannot open'),
  linkError: z.string().nullable().describe('why, one `<link>: <reason>` per link'),
  lastBirthAt: nullableTime,
  lastSeenAt: nullableTime,
});
export const shelfSchema: z.ZodType<Shelf> = z.object({
  id: z.string(),
  gatewayId: z.string(),
  deviceId: z.string(),
  siteId: z.string(),
  aisleId: z.string().nullable(),
  serialNumber: z.string(),
  firmware: z.string().nullable(),
  binCount: z.number().int(),
  position: z.number().int(),
  online: z.boolean(),
  lastSeenAt: nullableTime,
});
export const binSchema: z.ZodType<BinView> = z.object({
  shelfId: z.string(),
  bin: z.number().int(),
  sku: z.string().nullable(),
  productName: z.string().nullable(),
  unitWeightG: z.number().nullable(),
  tareG: z.number(),
  count: z.number().int(),
  confidence: z.number(),
  weightG: z.number().nullable(),
  weighed: z.boolean(),
  lowStockThreshold: z.number().int().nullable(),
  lit: z.object({ color: z.string(), blink: z.string() }).nullable(),
  health: z
    .enum(['ok', 'shelf_offline', 'cell_fault', 'low_confidence'])
    .describe('whether the count is current, or why not'),
  weighedAt: nullableTime.describe('time of the last reading that carried the weight'),
  updatedAt: isoTime,
});
export const alertSchema: z.ZodType<Alert> = z.object({
  id: z.string(),
  siteId: z.string(),
  shelfId: z.string(),
  bin: z.number().int(),
  sku: z.string().nullable(),
  kind: z.enum(['low_stock', 'cell_fault', 'shelf_offline', 'low_confidence']),
  status: z.enum(['open', 'cleared']),
  message: z.string(),
  createdAt: isoTime,
  clearedAt: nullableTime,
});
export const stockSchema: z.ZodType<Stock> = z.object({
  sku: z.string(),
  onHand: z.number().int(),
  reserved: z.number().int(),
  available: z.number().int(),
  bins: z.array(
    z.object({
      siteId: z.string(),
      shelfId: z.string(),
      bin: z.number().int(),
      count: z.number().int(),
      confidence: z.number(),
    }),
  ),
});
export const reservationSchema: z.ZodType<Reservation> = z.object({
  id: z.string(),
  sku: z.string(),
  quantity: z.number().int(),
  reference: z.string(),
  status: z.enum(['active', 'committed', 'consumed', 'released', 'expired']),
  expiresAt: isoTime,
  ownerId: z.string().nullable().describe('the user who reserved (an API key acts for its owner)'),
});
export const commandSchema: z.ZodType<Command> = z.object({
  id: z.string(),
  gatewayId: z.string(),
  deviceId: z.string().nullable(),
  groupId: z.string(),
  command: commandAction,
  status: z.enum(['sent', 'done', 'failed', 'expired']),
  reason: z.string().nullable(),
  requestedBy: z.string().nullable(),
  expiresAt: isoTime,
  createdAt: isoTime,
  updatedAt: isoTime,
});
export const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.enum(roles),
  sites: z.array(z.string()).nullable(),
  status: z.enum(['invited', 'active', 'disabled']),
});
export const sessionSchema = z.object({
  accessToken: z.string(),
  accessTokenExpiresAt: isoTime,
  refreshToken: z.string(),
  refreshTokenExpiresAt: isoTime,
  user: userSchema,
});
export const provisionResultSchema = z.object({
  gatewayId: z.string(),
  groupId: z.string(),
  edgeNodeId: z.string(),
  credential: z.string(),
  credentialExpiresAt: isoTime,
  brokerUrl: z.string(),
  primaryHostId: z.string(),
});
export const ttlSeconds = (def: number, max: number) => z.number().int().min(1).max(max).default(def);

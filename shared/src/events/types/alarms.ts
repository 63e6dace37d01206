import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { topics } from './topics.js';

const id = z.string().min(1).max(128);

/** What an alarm is about; with the subject it names one cause, and a cause has one alarm. */
export const alarmKinds = [
  'gateway_offline',
  'queue_depth',
  'readings_lost',
  'temperature',
  'controller_fault',
] as const;

export const alarmStates = ['active', 'acknowledged', 'cleared'] as const;
export const alarmSeverities = ['critical', 'major', 'minor'] as const;

export const alarm = z.object({
  alarmId: z.string().uuid(),
  siteId: id,
  gatewayId: id,
  /** The shelf (and bin) for shelf alarms; absent for a gateway's own. */
  shelfId: id.optional(),
  bin: z.number().int().min(0).max(255).optional(),
  kind: z.enum(alarmKinds),
  /** One cause, one alarm: `<kind>:<gateway>[:<shelf>[:<bin>]]`. */
  cause: z.string().min(1).max(400),
  severity: z.enum(alarmSeverities),
  state: z.enum(alarmStates),
  message: z.string().max(500),
  /** The value that raised it (minutes offline, queue depth, readings lost, degrees). */
  value: z.number().finite().nullable(),
  raisedAt: z.string().datetime({ offset: true }),
  acknowledgedAt: z.string().datetime({ offset: true }).nullable(),
  acknowledgedBy: z.string().max(200).nullable(),
  clearedAt: z.string().datetime({ offset: true }).nullable(),
  /** How many times the cause was seen again while the alarm was open (de-duplicated). */
  occurrences: z.number().int().min(1),
});

export const alarmChangedV1 = defineEvent({
  type: 'bv.alarm.changed.v1',
  topic: topics.alarms,
  description: 'An alarm was raised, acknowledged or cleared (the whole alarm after the change)',
  schema: alarm.extend({ transition: z.enum(['raised', 'acknowledged', 'cleared']) }),
});

export type Alarm = z.infer<typeof alarm>;
export type AlarmKind = Alarm['kind'];
export type AlarmState = Alarm['state'];
export type AlarmChanged = z.infer<typeof alarmChangedV1.schema>;

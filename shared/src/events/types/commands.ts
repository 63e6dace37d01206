import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { shadowCommand } from './shadows.js';
import { topics } from './topics.js';

const id = z.string().min(1).max(128);
const ledColor = z.string().regex(/^#[0-9a-fA-F]{6}$/);
const ledBlink = z.enum(['off', 'steady', 'slow', 'fast']);

/** What can be asked of a shelf or of the edge agent itself. */
export const commandAction = z.discriminatedUnion('action', [
  z.object({ action: z.literal('tare'), bin: z.number().int().min(0).max(255) }),
  z.object({
    action: z.literal('calibrate'),
    bin: z.number().int().min(0).max(255),
    knownWeightG: z.number().positive().max(1_000_000),
  }),
  z.object({
    action: z.literal('set_led'),
    bin: z.number().int().min(0).max(255),
    color: ledColor,
    blink: ledBlink,
  }),
  /**
   * Several bins of one shelf in one DCMD (pick-to-light): the agent sends them to the controller
   * as one `set_leds`, or as one `set_led` each to a controller without `group_led`
   * (docs/shelf-link.md [SL-LED-2]). Each entry names one bin (no 255), each bin at most once.
   */
  z.object({
    action: z.literal('set_leds'),
    leds: z
      .array(z.object({ bin: z.number().int().min(0).max(127), color: ledColor, blink: ledBlink }))
      .min(1)
      .max(128)
      .refine((leds) => new Set(leds.map((l) => l.bin)).size === leds.length, 'each bin at most once'),
  }),
  z.object({ action: z.literal('set_sample_rate'), hz: z.number().positive().max(1000) }),
  z.object({ action: z.literal('reboot') }),
  z.object({ action: z.literal('identify'), seconds: z.number().int().min(1).max(600).default(10) }),
  z.object({ action: z.literal('rebirth') }),
  shadowCommand,
  /** Install a signed release on the shelf controller over the serial link (docs/ota.md). */
  z.object({
    action: z.literal('firmware_update'),
    version: z.string().regex(/^\d{1,4}\.\d{1,4}\.\d{1,4}(?:-[A-Za-z0-9.]{1,6})?$/),
  }),
  /** Install a signed edge-agent release and restart into it on trial (docs/ota.md). */
  z.object({
    action: z.literal('agent_update'),
    version: z.string().regex(/^\d{1,4}\.\d{1,4}\.\d{1,4}(?:-[A-Za-z0-9.]{1,6})?$/),
  }),
]);

export const commandRequestedV1 = defineEvent({
  type: 'bv.command.requested.v1',
  topic: topics.commands,
  description: 'A command for an edge node (NCMD) or one of its devices (DCMD)',
  schema: z.object({
    commandId: z.string().uuid(),
    groupId: id,
    edgeNodeId: id,
    deviceId: id.optional(),
    command: commandAction,
    /** After this instant the command must not be executed; it is reported expired. */
    expiresAt: z.string().datetime({ offset: true }),
    requestedBy: z.string().max(128).optional(),
  }),
});

export const commandResultV1 = defineEvent({
  type: 'bv.command.result.v1',
  topic: topics.commandResults,
  description: 'What became of a command: done, failed (NACK with reason) or expired',
  schema: z.object({
    commandId: z.string().uuid(),
    groupId: id,
    edgeNodeId: id,
    deviceId: id.optional(),
    status: z.enum(['done', 'failed', 'expired']),
    reason: z.string().max(500).optional(),
  }),
});

export type CommandAction = z.infer<typeof commandAction>;

/**
 * Who runs each action. The edge agent itself runs only `rebirth` (an NCMD, Sparkplug 3.0
 * [tck-id-operational-behavior-data-commands-ncmd-rebirth-verb]); every other action is a shelf
 * controller's COMMAND and travels as a DCMD to one device. The cloud refuses a request that
 * names the wrong target, and the agent answers one that arrives anyway with `failed`.
 */
export const commandTargets = {
  rebirth: 'node',
  shadow: 'node',
  tare: 'device',
  calibrate: 'device',
  set_led: 'device',
  set_leds: 'device',
  set_sample_rate: 'device',
  reboot: 'device',
  identify: 'device',
  firmware_update: 'device',
  agent_update: 'node',
} as const satisfies Record<CommandAction['action'], 'node' | 'device'>;

/** Why `action` cannot go to this target (`deviceId` absent = the edge node), or undefined if it can. */
export function commandTargetProblem(
  action: CommandAction['action'],
  deviceId: string | null | undefined,
): string | undefined {
  const target = commandTargets[action];
  if (target === 'device' && !deviceId)
    return `${action} is a shelf command: name the shelf (deviceId) it is for`;
  if (target === 'node' && deviceId)
    return `${action} is an edge-node command: send it to the gateway without a deviceId`;
  return undefined;
}
export type CommandRequested = z.infer<typeof commandRequestedV1.schema>;
export type CommandResult = z.infer<typeof commandResultV1.schema>;

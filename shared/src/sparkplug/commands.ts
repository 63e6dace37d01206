import { z } from 'zod';
import { ValidationError } from '../errors/index.js';
import { type CommandAction, commandAction } from '../events/index.js';
import { metricNames } from './names.js';
import { asPayload, type DecodeOptions, encodePayload, type Metric, type Payload } from './payload.js';

/** One command as carried in NCMD/DCMD metrics. */
export interface CommandMessage {
  id: string;
  action: CommandAction;
  /** ms since the epoch; absent means it does not expire. */
  expiresAt?: number | undefined;
}

export const commandStatuses = ['done', 'failed', 'expired'] as const;
export type CommandStatus = (typeof commandStatuses)[number];

/** What became of a command, carried up in NDATA (node) or DDATA (device). */
export interface CommandResultMessage {
  id: string;
  status: CommandStatus;
  reason?: string | undefined;
}

/** A command that could not be understood; `id` is present when the id metric itself was fine. */
export interface RejectedCommand {
  id?: string;
  reason: string;
}

export interface DecodedCommands {
  commands: CommandMessage[];
  /** `Node Control/Rebirth` = true was present (NCMD) [tck-id-operational-behavior-data-commands-ncmd-rebirth-verb]. */
  rebirth: boolean;
  rejected: RejectedCommand[];
  /** Metric names this platform does not know; the caller counts them. */
  unknownMetrics: string[];
}

export interface DecodeCommandOptions extends DecodeOptions {
  /** Longest accepted `command/json` in UTF-8 bytes. */
  maxCommandBytes?: number;
  /** Most commands accepted in one message; the rest are rejected. */
  maxCommands?: number;
}

const commandId = z.string().uuid();
const maxReasonLength = 500;

export function commandMetrics(command: CommandMessage, timestamp = Date.now()): Metric[] {
  const metrics: Metric[] = [
    { name: metricNames.commandId, type: 'String', value: command.id, timestamp },
    { name: metricNames.commandJson, type: 'String', value: JSON.stringify(command.action), timestamp },
  ];
  if (command.expiresAt !== undefined) {
    metrics.push({ name: metricNames.commandExpiresAt, type: 'UInt64', value: command.expiresAt, timestamp });
  }
  return metrics;
}

/** An NCMD/DCMD payload (what the cloud side, via the gateway, sends down). */
export function encodeCommands(
  message: { commands?: readonly CommandMessage[]; rebirth?: boolean; seq?: number },
  timestamp = Date.now(),
): Uint8Array {
  const metrics = (message.commands ?? []).flatMap((c) => commandMetrics(c, timestamp));
  if (message.rebirth) metrics.push({ name: metricNames.rebirth, type: 'Boolean', value: true, timestamp });
  const payload: Payload = { timestamp, metrics };
  if (message.seq !== undefined) payload.seq = message.seq;
  return encodePayload(payload);
}

/**
 * The commands in an NCMD/DCMD payload. Each command starts at a `command/id` metric and takes
 * the `command/json` and `command/expires_at` metrics after it. A malformed command does not
 * spoil the others: it is listed in `rejected` (with its id when known) so the agent can answer
 * it with a `failed` result. Only an undecodable payload throws (ValidationError).
 */
export function decodeCommands(
  input: Uint8Array | Payload,
  options: DecodeCommandOptions = {},
): DecodedCommands {
  const maxBytes = options.maxCommandBytes ?? 4096;
  const maxCommands = options.maxCommands ?? 64;
  const payload = asPayload(input, options);
  const out: DecodedCommands = { commands: [], rebirth: false, rejected: [], unknownMetrics: [] };
  interface Draft {
    id?: string;
    idProblem?: string;
    json?: string;
    expiresAt?: number;
    problem?: string;
  }
  const drafts: Draft[] = [];
  let current: Draft | undefined;
  const draft = (): Draft => {
    if (!current) {
      current = { problem: 'command metrics without a preceding command/id' };
      drafts.push(current);
    }
    return current;
  };
  for (const m of payload.metrics) {
    switch (m.name) {
      case metricNames.commandId: {
        current = {};
        drafts.push(current);
        const id = commandId.safeParse(m.value);
        if (id.success) current.id = id.data;
        else current.idProblem = 'command/id is not a UUID string';
        break;
      }
      case metricNames.commandJson: {
        const d = draft();
        if (typeof m.value !== 'string') d.problem ??= 'command/json is not a string';
        else if (Buffer.byteLength(m.value) > maxBytes)
          d.problem ??= `command/json larger than ${maxBytes} bytes`;
        else d.json = m.value;
        break;
      }
      case metricNames.commandExpiresAt: {
        const d = draft();
        if (typeof m.value === 'number' && Number.isSafeInteger(m.value) && m.value >= 0)
          d.expiresAt = m.value;
        else d.problem ??= 'command/expires_at is not a ms timestamp';
        break;
      }
      case metricNames.rebirth:
        if (m.value === true) out.rebirth = true;
        break;
      default:
        out.unknownMetrics.push(m.name);
    }
  }
  for (const d of drafts) {
    const rejectedId = d.id === undefined ? {} : { id: d.id };
    if (d.idProblem !== undefined || d.id === undefined) {
      out.rejected.push({ reason: d.idProblem ?? d.problem ?? 'command/id missing' });
    } else if (d.problem !== undefined) {
      out.rejected.push({ ...rejectedId, reason: d.problem });
    } else if (d.json === undefined) {
      out.rejected.push({ ...rejectedId, reason: 'command/json missing' });
    } else if (out.commands.length >= maxCommands) {
      out.rejected.push({ ...rejectedId, reason: `more than ${maxCommands} commands in one message` });
    } else {
      const action = parseAction(d.json);
      if (typeof action === 'string') out.rejected.push({ ...rejectedId, reason: action });
      else out.commands.push({ id: d.id, action, expiresAt: d.expiresAt });
    }
  }
  return out;
}

function parseAction(json: string): CommandAction | string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // The reason goes back to the sender as the command's `failed` result.
    return 'command/json is not JSON';
  }
  const parsed = commandAction.safeParse(value);
  if (!parsed.success) return `invalid command: ${parsed.error.issues.map((i) => i.message).join('; ')}`;
  return parsed.data;
}

export function commandResultMetrics(
  results: readonly CommandResultMessage[],
  timestamp = Date.now(),
): Metric[] {
  const metrics: Metric[] = [];
  for (const r of results) {
    metrics.push({ name: metricNames.commandId, type: 'String', value: r.id, timestamp });
    metrics.push({ name: metricNames.commandStatus, type: 'String', value: r.status, timestamp });
    if (r.reason !== undefined) {
      const reason =
        r.reason.length > maxReasonLength ? `${r.reason.slice(0, maxReasonLength - 1)}…` : r.reason;
      metrics.push({ name: metricNames.commandReason, type: 'String', value: reason, timestamp });
    }
  }
  return metrics;
}

/**
 * Command results in an NDATA/DDATA payload: each `command/id` followed by its `command/status`
 * and optional `command/reason`. Results with a missing or unknown status are invalid.
 */
export function decodeCommandResults(
  input: Uint8Array | Payload,
  options?: DecodeOptions,
): CommandResultMessage[] {
  const payload = asPayload(input, options);
  const results: Array<Partial<CommandResultMessage>> = [];
  let current: Partial<CommandResultMessage> | undefined;
  for (const m of payload.metrics) {
    if (m.name === metricNames.commandId) {
      if (typeof m.value !== 'string') throw new ValidationError('command/id is not a string');
      current = { id: m.value };
      results.push(current);
    } else if (m.name === metricNames.commandStatus) {
      if (!current) throw new ValidationError('command/status without command/id');
      const status = z.enum(commandStatuses).safeParse(m.value);
      if (!status.success)
        throw new ValidationError(`command/status ${String(m.value)} is not one of ${commandStatuses}`);
      current.status = status.data;
    } else if (m.name === metricNames.commandReason) {
      if (!current) throw new ValidationError('command/reason without command/id');
      if (typeof m.value !== 'string') throw new ValidationError('command/reason is not a string');
      current.reason = m.value;
    }
  }
  return results.map((r) => {
    if (r.id === undefined || r.status === undefined)
      throw new ValidationError(`command ${r.id}: status missing`);
    return r.reason === undefined
      ? { id: r.id, status: r.status }
      : { id: r.id, status: r.status, reason: r.reason };
  });
}

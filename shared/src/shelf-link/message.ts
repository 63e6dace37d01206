import type { AckMessage } from './ack.js';
import type { CommandMessage } from './command.js';
import type { EventMessage } from './event.js';
import type { HeartbeatMessage } from './heartbeat.js';
import type { HelloMessage } from './hello.js';
import type { NackMessage } from './nack.js';
import type { OtaBeginMessage } from './ota-begin.js';
import type { OtaChunkMessage } from './ota-chunk.js';
import type { OtaEndMessage } from './ota-end.js';
import type { OtaStatusMessage } from './ota-status.js';
import type { ReadingsMessage } from './readings.js';
import type { StoredMessage } from './stored.js';

/** Every shelf-link message, discriminated by `type` (the names of `messageType`). */
export type ShelfMessage =
  | HelloMessage
  | ReadingsMessage
  | EventMessage
  | HeartbeatMessage
  | StoredMessage
  | CommandMessage
  | AckMessage
  | NackMessage
  | OtaBeginMessage
  | OtaChunkMessage
  | OtaEndMessage
  | OtaStatusMessage;

export type ShelfMessageOf<T extends ShelfMessage['type']> = Extract<ShelfMessage, { type: T }>;

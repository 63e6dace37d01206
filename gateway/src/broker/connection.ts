import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@bitv/shared/log';
import type { Aedes } from 'aedes';
import type { GatewayMetrics } from '../metrics.js';
import { type PacketProblem, PacketSizeGuard } from './packet-guard.js';
import { markSessionsOnConnect } from './session-marker.js';
import { connackUnacceptableProtocol } from './wire-rules.js';

const dropReason: Record<PacketProblem, string> = {
  oversized: 'oversized_packet',
  malformed: 'malformed_packet',
  protocol_level: 'unsupported_protocol_level',
};

/** Connections refused by the byte checks. */
const refused = new WeakSet<object>();

/** Whether the connection was refused by the byte checks (the stream is gone or going). */
export function isRefused(stream: object): boolean {
  return refused.has(stream);
}

/**
 * Hands a connection to aedes, with the packet size limit, the byte checks of wire-rules.ts and
 * byte accounting in front. aedes reads with `read()` on 'readable'; a 'data' listener then sees
 * every chunk it reads, just before it is parsed, without changing the flow.
 */
export function connectionHandler(
  broker: Aedes,
  maxPacketBytes: number,
  metrics: GatewayMetrics,
  logger: Logger,
) {
  // [MQTT-3.2.2-2] the stored session of a CleanSession 0 connection is marked (session-marker.ts)
  markSessionsOnConnect(broker);
  return (stream: Duplex, request?: IncomingMessage) => {
    broker.handle(stream, request);
    const guard = new PacketSizeGuard(maxPacketBytes);
    stream.on('data', (chunk: Buffer) => {
      metrics.bytesIn.inc(chunk.length);
      const problem = guard.push(chunk);
      if (problem) {
        refused.add(stream);
        metrics.dropped.inc({ reason: dropReason[problem] });
        logger.info({ problem, limit: maxPacketBytes }, 'connection closed: packet refused');
        // [MQTT-3.1.2-2] an unsupported protocol level is answered with CONNACK 0x01, then closed
        if (problem === 'protocol_level') stream.end(connackUnacceptableProtocol);
        // aedes parses this chunk once the listener returns: its hooks refuse what arrives on a
        // destroyed stream (isRefused), so nothing in a refused packet takes effect
        else stream.destroy();
      }
    });
  };
}

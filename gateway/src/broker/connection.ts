import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@bitv/shared/log';
import type { Aedes } from 'aedes';
import type { GatewayMetrics } from '../metrics.js';
import { PacketSizeGuard } from './packet-guard.js';

/**
 * Hands a connection to aedes, with the packet size limit and byte accounting in front. aedes
 * reads with `read()` on 'readable'; a 'data' listener then sees every chunk it reads, just before
 * it is parsed, without changing the flow.
 */
export function connectionHandler(
  broker: Aedes,
  maxPacketBytes: number,
  metrics: GatewayMetrics,
  logger: Logger,
) {
  return (stream: Duplex, request?: IncomingMessage) => {
    broker.handle(stream, request);
    const guard = new PacketSizeGuard(maxPacketBytes);
    stream.on('data', (chunk: Buffer) => {
      metrics.bytesIn.inc(chunk.length);
      const problem = guard.push(chunk);
      if (problem) {
        metrics.dropped.inc({ reason: problem === 'oversized' ? 'oversized_packet' : 'malformed_packet' });
        logger.info({ problem, limit: maxPacketBytes }, 'connection closed: packet refused');
        stream.destroy();
      }
    });
  };
}

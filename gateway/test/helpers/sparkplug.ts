import {
  deviceTopic,
  encodeDeviceBirth,
  encodeNodeBirth,
  encodeReadings,
  nodeTopic,
} from '@bitv/shared/sparkplug';

/** Sparkplug messages as an edge agent sends them, for one edge node. */
export function edgeNode(groupId: string, edgeNodeId: string) {
  let seq = 0;
  let readingSeq = 0;
  return {
    nbirth: () => ({
      topic: nodeTopic('NBIRTH', groupId, edgeNodeId),
      payload: Buffer.from(
        encodeNodeBirth({ bdSeq: 1, agentVersion: 'test', outboxDepth: 0, oldestUnsentMs: 0 }),
      ),
    }),
    dbirth: (deviceId: string) => ({
      topic: deviceTopic('DBIRTH', groupId, edgeNodeId, deviceId),
      payload: Buffer.from(
        encodeDeviceBirth(
          { serialNumber: deviceId, firmware: '1.0.0', binCount: 2, bins: [{ bin: 0, weightG: 0 }] },
          ++seq % 256,
        ),
      ),
    }),
    /** DDATA with `count` readings numbered on from the last one. */
    ddata: (deviceId: string, count = 1) => {
      const readings = Array.from({ length: count }, () => ({
        seq: ++readingSeq,
        time: Date.now(),
        bins: [
          { bin: 0, weightG: 100 + readingSeq },
          { bin: 1, weightG: 200 },
        ],
      }));
      return {
        topic: deviceTopic('DDATA', groupId, edgeNodeId, deviceId),
        payload: Buffer.from(encodeReadings(readings, { seq: ++seq % 256, historical: false })),
        firstSeq: readings[0]!.seq,
      };
    },
  };
}

import type { DeviceState } from '@bitv/shared/events';
import {
  encodeNodeBirth,
  encodePayload,
  nodeHealthMetrics,
  nodeTopic,
  parseTopic,
} from '@bitv/shared/sparkplug';
import { describe, expect, it } from 'vitest';
import { isUplink, translate, type UplinkTopic } from '../src/bridge/translate.js';

const topic = (type: 'NBIRTH' | 'NDATA'): UplinkTopic => {
  const t = parseTopic(nodeTopic(type, 'site', 'gw-1'));
  if (!t || !isUplink(t)) throw new Error('not an uplink topic');
  return t;
};

const stateOf = (t: UplinkTopic, bytes: Uint8Array): DeviceState | undefined => {
  for (const o of translate(t, bytes, '/test').events) {
    if ('event' in o && o.event.type === 'bv.device-state.changed.v1') return o.event.data as DeviceState;
  }
  return undefined;
};

describe('edge agent links down (a serial port it cannot open) reach the cloud', () => {
  it('from the NBIRTH, which declares them even when every link is up', () => {
    const birth = (linksDown?: number, linkError?: string) =>
      encodeNodeBirth({
        bdSeq: 1,
        agentVersion: '1.0',
        outboxDepth: 0,
        oldestUnsentMs: 0,
        linksDown,
        linkError,
      });
    expect(stateOf(topic('NBIRTH'), birth())?.metrics).toEqual({
      'agent/version': '1.0',
      'links/down': 0,
      'links/error': '',
    });
    expect(stateOf(topic('NBIRTH'), birth(1, 'serial:/dev/ttyNOPE: No such file'))?.metrics).toMatchObject({
      'links/down': 1,
      'links/error': 'serial:/dev/ttyNOPE: No such file',
    });
  });

  it('from an NDATA health report', () => {
    const ndata = encodePayload({
      timestamp: Date.now(),
      seq: 3,
      metrics: nodeHealthMetrics({ outboxDepth: 2, linksDown: 1, linkError: 'serial:/dev/ttyNOPE: gone' }),
    });
    const state = stateOf(topic('NDATA'), ndata);
    expect(state).toMatchObject({ kind: 'NDATA', queueDepth: 2 });
    expect(state?.metrics).toEqual({ 'links/down': 1, 'links/error': 'serial:/dev/ttyNOPE: gone' });
  });
});

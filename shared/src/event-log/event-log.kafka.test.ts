import { kafkaBrokers, serverAvailable, uniqueName } from '../testing/index.js';
import { describeEventLogContract } from './contract.js';
import { createEventLog } from './create.js';

// The production log on the real broker (KAFKA_BROKERS). Timeouts are lowered so the suite is
// quick: the broker's smallest session timeout (group.min.session.timeout.ms, 6000 ms) bounds how
// long the kill test waits for the dead consumer to leave the group.
const tuning = {
  partitions: 6,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 10_000,
  maxWaitTimeMs: 100,
  requestTimeoutMs: 10_000,
  sendTimeoutMs: 20_000,
  joinTimeoutMs: 30_000,
};

describeEventLogContract(
  'kafka',
  async () => {
    const brokers = kafkaBrokers();
    const kafka = { brokers, clientId: uniqueName('bv-contract'), ...tuning };
    return {
      open: ({ registry, metrics }) => createEventLog({ kafka, registry, metrics }),
      child: { kafka },
      close: async () => undefined,
    };
  },
  { skip: !(await serverAvailable('kafka')) },
);

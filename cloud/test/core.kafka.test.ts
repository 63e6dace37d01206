import { serverAvailable } from '@bitv/shared/testing';
import { describe } from 'vitest';
import { coreSuite } from './suites/core.js';

// The production pair: PostgreSQL for state, Kafka for the event log (`KAFKA_BROKERS`).
const available = (await serverAvailable('postgres')) && (await serverAvailable('kafka'));
describe.skipIf(!available)('cloud core on PostgreSQL and Kafka', () => coreSuite('postgres+kafka'));

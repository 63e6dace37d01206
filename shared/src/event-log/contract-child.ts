/**
 * Child-process fixture of the contract's kill test: joins `group`, prints
 * `received <id> <partition> <offset>` when its handler gets an event, then never lets the
 * handler finish, so the offset is never committed. The suite SIGKILLs it at that point.
 * Usage: node --import tsx contract-child.ts '<ChildArgs JSON>'
 */
import { openDatabase } from '../db/index.js';
import { EventRegistry } from '../events/index.js';
import { createRegistry } from '../metrics/index.js';
import { type ChildArgs, contractEvent } from './contract-events.js';
import { createEventLog } from './create.js';

const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
const database = args.log.database ? await openDatabase(args.log.database) : undefined;
const log = await createEventLog({
  kafka: args.log.kafka,
  database,
  databaseLog: args.log.databaseLog,
  registry: new EventRegistry([contractEvent(args.topic)]),
  metrics: createRegistry(),
});
await log.subscribe({
  group: args.group,
  topics: [args.topic],
  handler: async (event, context) => {
    process.stdout.write(`received ${event.id} ${context.partition} ${context.offset}\n`);
    await new Promise(() => undefined); // hang until killed: the event stays uncommitted
  },
});
process.stdout.write('subscribed\n');

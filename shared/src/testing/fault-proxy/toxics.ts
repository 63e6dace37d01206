import { z } from 'zod';

/**
 * Toxics with Toxiproxy's names, attributes and units (github.com/Shopify/toxiproxy, README
 * "Toxics"), so a chaos scenario reads the same as one written for Toxiproxy, which does not run
 * here (see shared/notes/machine.md). `stream` is the direction: `upstream` is client -> server,
 * `downstream` server -> client (Toxiproxy's default). `toxicity` is the chance (0..1) that the
 * toxic applies to a given connection, drawn once per connection.
 */
const common = {
  name: z.string().min(1).max(100).optional(),
  stream: z.enum(['upstream', 'downstream']).default('downstream'),
  toxicity: z.number().min(0).max(1).default(1),
};
const ms = z.number().int().min(0).max(86_400_000);

export const toxicSchema = z.discriminatedUnion('type', [
  /** Delays every chunk by `latency` ms ± `jitter` ms (order kept). */
  z.object({
    type: z.literal('latency'),
    ...common,
    attributes: z.object({ latency: ms, jitter: ms.default(0) }),
  }),
  /** Lets at most `rate` KB/s (1 KB = 1000 bytes) through. */
  z.object({
    type: z.literal('bandwidth'),
    ...common,
    attributes: z.object({ rate: z.number().int().min(1).max(10_000_000) }),
  }),
  /** Holds the close (FIN) `delay` ms after the data has gone through. */
  z.object({ type: z.literal('slow_close'), ...common, attributes: z.object({ delay: ms }) }),
  /** Black hole: drops all data; closes the connection after `timeout` ms (0 = never, until removed). */
  z.object({ type: z.literal('timeout'), ...common, attributes: z.object({ timeout: ms }) }),
  /** TCP RST on both sides after `timeout` ms (0 = at once) of the toxic being active on a connection. */
  z.object({ type: z.literal('reset_peer'), ...common, attributes: z.object({ timeout: ms.default(0) }) }),
  /** Slices data into pieces of `average_size` ± `size_variation` bytes, `delay` microseconds apart. */
  z.object({
    type: z.literal('slicer'),
    ...common,
    attributes: z.object({
      average_size: z.number().int().min(1).max(1_000_000),
      size_variation: z.number().int().min(0).max(1_000_000).default(0),
      delay: z.number().int().min(0).max(60_000_000).default(0),
    }),
  }),
  /** Closes the connection once `bytes` bytes went through in this direction. */
  z.object({
    type: z.literal('limit_data'),
    ...common,
    attributes: z.object({ bytes: z.number().int().min(0) }),
  }),
]);

export type ToxicInput = z.input<typeof toxicSchema>;
export type ToxicSpec = z.output<typeof toxicSchema> & { name: string };
export type ToxicType = ToxicSpec['type'];
export type Stream = ToxicSpec['stream'];
export const toxicTypes: readonly ToxicType[] = [
  'latency',
  'bandwidth',
  'slow_close',
  'timeout',
  'reset_peer',
  'slicer',
  'limit_data',
];

/**
 * Parses the CLI's compact form `type[:stream][:toxicity]=attr=value,attr=value`, e.g.
 * `latency:downstream=latency=200,jitter=50` or `reset_peer:upstream:0.5=timeout=1000`.
 */
export function parseToxicFlag(text: string): ToxicInput {
  const eq = text.indexOf('=');
  const head = eq < 0 ? text : text.slice(0, eq);
  const tail = eq < 0 ? '' : text.slice(eq + 1);
  const [type, stream, toxicity] = head.split(':');
  const attributes: Record<string, number> = {};
  for (const pair of tail.split(',').filter(Boolean)) {
    const [key, value] = pair.split('=');
    if (!key || value === undefined || !Number.isFinite(Number(value))) {
      throw new Error(`toxic attribute "${pair}" is not name=number`);
    }
    attributes[key] = Number(value);
  }
  return toxicSchema.parse({
    type,
    ...(stream ? { stream } : {}),
    ...(toxicity ? { toxicity: Number(toxicity) } : {}),
    attributes,
  });
}

import { parseArgs } from 'node:util';
import { describeConfig, loadConfig, setting, ValidationError } from '@bitv/shared';
import type { Command } from '@bitv/shared/shelf-link';
import { ShelfLinkClient } from './client.js';

/**
 * `npx tsx hil-tests/src/monitor.ts`: opens a shelf link, asks for HELLO, prints every frame as
 * a JSON line, optionally sends commands, and ends with the decoder's counters. For bringing up
 * a real controller before running the HIL suite against it.
 */
const monitorConfig = {
  port: setting.string('HIL_PORT', {
    description: 'Serial device (or tcp://host:port) of the shelf controller',
  }),
  baud: setting.int('HIL_BAUD', { default: '115200', min: 300, max: 4_000_000, description: 'Baud rate' }),
  seconds: setting.number('HIL_MONITOR_SECONDS', { default: '10', description: 'How long to listen' }),
};

const usage = `shelf-link monitor: print what a shelf controller sends

Usage: npx tsx hil-tests/src/monitor.ts --port <path> [--baud n] [--seconds s] [--command '<json>' ...]

  --port <path>       serial device or tcp://host:port (HIL_PORT)
  --baud <n>          baud rate (HIL_BAUD)
  --seconds <s>       how long to listen (HIL_MONITOR_SECONDS)
  --command <json>    send a command after the HELLO, e.g. '{"op":"set_led","bin":0,"color":65280,"blink":"fast"}'
                      (repeatable; ops: tare, calibrate, set_led, set_leds, set_sample_rate, reboot, identify, request_hello)
  -h, --help          this text
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      port: { type: 'string' },
      baud: { type: 'string' },
      seconds: { type: 'string' },
      command: { type: 'string', multiple: true },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n${describeConfig(monitorConfig)}\n`);
    return;
  }
  const config = loadConfig(monitorConfig, {
    ...process.env,
    ...(values.port ? { HIL_PORT: values.port } : {}),
    ...(values.baud ? { HIL_BAUD: values.baud } : {}),
    ...(values.seconds ? { HIL_MONITOR_SECONDS: values.seconds } : {}),
  });
  const commands = (values.command ?? []).map((text) => {
    try {
      return JSON.parse(text) as Command;
    } catch (error) {
      throw new ValidationError(`--command is not JSON: ${text}`, { cause: error });
    }
  });
  const client = await ShelfLinkClient.open({ path: config.port, baudRate: config.baud });
  const print = (what: unknown) => process.stdout.write(`${JSON.stringify(what)}\n`);
  let shown = 0;
  const watcher = client.next((f) => {
    print({ seq: f.seq, lost: f.lost, ...f.message });
    shown++;
    return false; // never done: print until the end
  }, config.seconds * 1000);
  const listening = watcher.catch(() => undefined); // ends by timing out, which is the plan
  try {
    await client.hello();
    for (const command of commands) print({ sent: command, answer: await client.command(command) });
    await Promise.race([listening, client.closed]);
  } catch (error) {
    print({ error: error instanceof Error ? error.message : String(error) });
  }
  print({ frames: shown, decoder: client.decoder.stats, portOpen: client.isOpen });
  await client.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`monitor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

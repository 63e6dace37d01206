import { runCli } from '@bitv/shared/cli';
import pkg from '../../package.json' with { type: 'json' };
import { runFirmwareTool } from './tool.js';

runCli({ name: 'bitv-firmware', version: pkg.version }, (argv) =>
  runFirmwareTool(argv, {
    out: (line) => process.stdout.write(`${line}\n`),
    progress: (line) => process.stderr.write(`bitv-firmware: ${line}\n`),
    env: process.env,
  }),
);

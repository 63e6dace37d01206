import { describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../src/config.js';

const ports = (text: string) => loadEdgeConfig(undefined, { BV_EDGE_SERIAL_PORTS: text }).serialPorts;

describe('BV_EDGE_SERIAL_PORTS', () => {
  it('takes a JSON array, as the docs show it', () => {
    expect(ports('["/dev/ttyUSB0", "/dev/ttyUSB1"]')).toEqual(['/dev/ttyUSB0', '/dev/ttyUSB1']);
    expect(ports(' [ "tcp://127.0.0.1:7000" ] ')).toEqual(['tcp://127.0.0.1:7000']);
    expect(ports('[]')).toEqual([]);
  });

  it('takes a comma list', () => {
    expect(ports('/dev/ttyUSB0, /dev/pts/3,')).toEqual(['/dev/ttyUSB0', '/dev/pts/3']);
    expect(ports('')).toEqual([]);
  });

  it('refuses what is neither, naming the variable', () => {
    for (const bad of [
      '["/dev/ttyUSB0",',
      '[1, 2]',
      '["/dev/a", ""]',
      '{"port": "/dev/a"}',
      '"/dev/a"',
      "'/dev/a'",
    ]) {
      expect(() => ports(bad), bad).toThrow(/invalid configuration: BV_EDGE_SERIAL_PORTS=/);
    }
  });
});

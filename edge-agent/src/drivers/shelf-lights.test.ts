import type { HelloMessage } from '@bitv/shared/shelf-link';
import { describe, expect, it } from 'vitest';
import { ShelfLights } from './shelf-lights.js';

const hello = (bootId?: number): HelloMessage => ({
  type: 'hello',
  protocolVersion: 1,
  firmwareVersion: '1.4.2',
  serialNumber: 'A1',
  binCount: 2,
  capabilities: 1,
  sampleRateMilliHz: 10_000,
  bootReason: 'power_on',
  ...(bootId === undefined ? {} : { bootId }),
});
const lights = (l: ShelfLights) => l.list().map((x) => x.light);

describe('ShelfLights', () => {
  it('a boot other than the one the agent last stored readings of: every LED is off', () => {
    const l = new ShelfLights();
    expect(l.hello('shelf-A1', hello(22), 5, 11)).toBe(true);
    expect(lights(l)).toEqual(['off', 'off']);
  });

  it('the same boot after an agent restart: unknown; the same boot again in one run: unchanged', () => {
    const l = new ShelfLights();
    expect(l.hello('shelf-A1', hello(11), 5, 11)).toBe(false);
    expect(lights(l)).toEqual([null, null]);
    l.ledCommand(0, 0xff0000, 'slow', 'ack');
    expect(l.hello('shelf-A1', hello(11), 40, 11)).toBe(false);
    expect(lights(l)).toEqual([{ color: '#ff0000', blink: 'slow' }, null]);
  });

  it('without replay (no bootId) a HELLO at sequence 0 is the boot one [SL-HELLO-3]', () => {
    const l = new ShelfLights();
    expect(l.hello('shelf-A1', hello(), 3, null)).toBe(false);
    expect(l.hello('shelf-A1', hello(), 0, null)).toBe(true);
    expect(lights(l)).toEqual(['off', 'off']);
  });

  it('set_led: ACK sets (255 = every bin), NACK changes nothing, no answer makes it unknown', () => {
    const l = new ShelfLights();
    l.hello('shelf-A1', hello(), 0, null);
    expect(l.ledCommand(255, 0x00ff00, 'steady', 'ack')).toEqual([0, 1]);
    expect(l.ledCommand(1, 0x0000ff, 'fast', 'nack')).toEqual([]);
    expect(l.ledCommand(1, 0x0000ff, 'fast', 'unknown')).toEqual([1]);
    expect(l.ledCommand(0, 0, 'off', 'ack')).toEqual([0]);
    expect(lights(l)).toEqual(['off', null]);
    expect(l.ledCommand(9, 0, 'steady', 'ack')).toEqual([]);
  });

  it('set_leds: ACK sets every entry, NACK none, no answer makes each named bin unknown', () => {
    const l = new ShelfLights();
    l.hello('shelf-A1', hello(), 0, null);
    const leds = [
      { bin: 0, color: 0x00ff00, blink: 'steady' as const },
      { bin: 1, color: 0xff0000, blink: 'fast' as const },
    ];
    expect(l.ledsCommand(leds, 'nack')).toEqual([]);
    expect(lights(l)).toEqual(['off', 'off']);
    expect(l.ledsCommand(leds, 'ack')).toEqual([0, 1]);
    expect(lights(l)).toEqual([
      { color: '#00ff00', blink: 'steady' },
      { color: '#ff0000', blink: 'fast' },
    ]);
    expect(l.ledsCommand([{ bin: 1, color: 0, blink: 'off' }], 'unknown')).toEqual([1]);
    expect(lights(l)[1]).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { describeConfig, loadConfig, setting } from './index.js';

const spec = {
  port: setting.int('BV_PORT', { default: '8080', min: 0, max: 65535, description: 'HTTP port' }),
  debug: setting.boolean('BV_DEBUG', { default: 'false', description: 'verbose logs' }),
  brokers: setting.optionalList('KAFKA_BROKERS', { description: 'Kafka bootstrap servers' }),
  mode: setting.enum('BV_MODE', ['fast', 'safe'] as const, { default: 'safe', description: 'durability' }),
  token: setting.optionalString('BV_TOKEN', { description: 'secret', secret: true }),
};

describe('loadConfig', () => {
  it('applies documented defaults when variables are unset or empty', () => {
    expect(loadConfig(spec, { BV_DEBUG: '' })).toEqual({
      port: 8080,
      debug: false,
      brokers: undefined,
      mode: 'safe',
      token: undefined,
    });
  });

  it('parses and converts what is set', () => {
    const config = loadConfig(spec, {
      BV_PORT: '0',
      BV_DEBUG: 'yes',
      KAFKA_BROKERS: 'a:1, b:2',
      BV_MODE: 'fast',
    });
    expect(config).toMatchObject({ port: 0, debug: true, brokers: ['a:1', 'b:2'], mode: 'fast' });
  });

  it('reports every bad variable at once and hides secrets', () => {
    let error: unknown;
    try {
      loadConfig(
        { ...spec, token: setting.int('BV_TOKEN', { description: 'x', secret: true }) },
        { BV_PORT: '70000', BV_MODE: 'slow', BV_TOKEN: 'hunter2' },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const message = (error as Error).message;
    expect(message).toContain('BV_PORT="70000"');
    expect(message).toContain('BV_MODE="slow"');
    expect(message).toContain('BV_TOKEN=(hidden)');
    expect(message).not.toContain('hunter2');
  });

  it('describes variables with their defaults for --help', () => {
    const text = describeConfig(spec);
    expect(text).toContain('BV_PORT');
    expect(text).toContain('[default: 8080]');
    expect(text).toContain('[default: (unset)]');
  });
});

import { describe, expect, it } from 'vitest';
import { chatSettingsOf } from './settings.js';

describe('chat settings: the write interval', () => {
  it('is read from BV_CHAT_WRITE_INTERVAL_MS, 5 ms when unset', () => {
    expect(chatSettingsOf({ BV_CHAT_WRITE_INTERVAL_MS: '5' }).writeIntervalMs).toBe(5);
    expect(chatSettingsOf({ BV_CHAT_WRITE_INTERVAL_MS: '0' }).writeIntervalMs).toBe(0);
    expect(chatSettingsOf({}).writeIntervalMs).toBe(5);
  });

  it('refuses a value that is not a whole number of ms from 0 to 1000', () => {
    for (const bad of ['-1', '2.5', '1001', 'soon'])
      expect(() => chatSettingsOf({ BV_CHAT_WRITE_INTERVAL_MS: bad })).toThrow(/BV_CHAT_WRITE_INTERVAL_MS/);
  });
});

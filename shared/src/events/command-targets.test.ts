import { describe, expect, it } from 'vitest';
import { commandAction, commandTargetProblem, commandTargets } from './index.js';

describe('command targets (edge node or shelf)', () => {
  it('names a target for every action the schema accepts', () => {
    const actions = commandAction.options.map((o) => o.shape.action.value).sort();
    expect(Object.keys(commandTargets).sort()).toEqual(actions);
  });

  it('sends only rebirth to the edge node; every other action needs a shelf', () => {
    expect(commandTargetProblem('rebirth', undefined)).toBeUndefined();
    expect(commandTargetProblem('rebirth', 'shelf-1')).toBe(
      'rebirth is an edge-node command: send it to the gateway without a deviceId',
    );
    for (const action of ['tare', 'calibrate', 'set_led', 'set_sample_rate', 'reboot', 'identify'] as const) {
      expect(commandTargetProblem(action, 'shelf-1')).toBeUndefined();
      expect(commandTargetProblem(action, null)).toBe(
        `${action} is a shelf command: name the shelf (deviceId) it is for`,
      );
      expect(commandTargetProblem(action, '')).toBeDefined();
    }
  });
});

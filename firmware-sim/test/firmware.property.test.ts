import { encodeFrame } from '@bitv/shared/shelf-link';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitraryCommand } from '../../shared/src/shelf-link/arbitraries.js';
import { FirmwareHarness } from './harness.js';

// Whatever a host sends, the firmware keeps running and answers every intact COMMAND exactly
// once [SL-RX-1], [SL-CMD-2].
describe('simulated firmware under arbitrary host input', () => {
  it('answers every intact command once, whatever garbage surrounds it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 80 }), arbitraryCommand), {
          minLength: 1,
          maxLength: 12,
        }),
        (steps) => {
          const h = new FirmwareHarness();
          h.firmware.powerOn();
          h.run(1000);
          // Reboots would swallow the commands after them; they have their own test.
          const commands = steps.filter(([, c]) => c.op !== 'reboot');
          commands.forEach(([junk, command], seq) => {
            h.firmware.receive(junk);
            h.firmware.receive(encodeFrame({ type: 'command', command }, seq));
          });
          h.run(6000); // longer than any tare/calibrate timeout
          for (let seq = 0; seq < commands.length; seq++) {
            const answers = h.frames.filter(
              (f) => (f.message.type === 'ack' || f.message.type === 'nack') && f.message.commandSeq === seq,
            );
            expect(answers, JSON.stringify(commands[seq]![1])).toHaveLength(1);
          }
          expect(h.decoder.badFramesTotal).toBe(0); // and it never sends a broken frame itself
        },
      ),
      { numRuns: 150 },
    );
  });
});

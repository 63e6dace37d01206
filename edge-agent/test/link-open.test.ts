import { join } from 'node:path';
import { createLogger } from '@bitv/shared/log';
import { encodeFrame } from '@bitv/shared/shelf-link';
import { eventually, tempDir } from '@bitv/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriverSink } from '../src/drivers/driver.js';
import { ShelfLinkDriver } from '../src/drivers/shelf-link.js';
import { linkHealth } from '../src/uplink/reports.js';
import { startPtyPair } from './harness/pty.js';
import { TestShelf } from './harness/shelf.js';

/** A sink that only records link state; the port never carries a shelf in these tests. */
function linkSink() {
  const states: { up: boolean; openError?: string | undefined }[] = [];
  const online: string[] = [];
  const sink: DriverSink = {
    deviceOnline: (info) => online.push(info.name),
    deviceOffline: () => {},
    readings: () => true,
    linkGap: () => {},
    linkSeen: () => {},
    lastLinkSeq: () => null,
    replayPosition: () => null,
    duplicateReadings: () => {},
    badFrame: () => {},
    linkState: (_link, up, openError) => states.push({ up, openError }),
  };
  return { sink, states, online };
}

/** A logger whose JSON lines are kept, to check what an operator would read. */
function recordingLogger() {
  const lines: { level: number; msg: string; reason?: string; path?: string; kind?: string; bin?: number }[] =
    [];
  const logger = createLogger('test', {
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  return { logger, warnings: () => lines.filter((l) => l.level === 40), lines };
}

describe('a serial port the agent cannot open (issue #12, defect 8)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('is warned once per outage with the reason, reported on every attempt, and recovers when the port appears', async () => {
    const dir = await tempDir('bv-edge-open-');
    cleanups.push(dir.remove);
    const path = join(dir.path, 'port.host');
    const rec = linkSink();
    const log = recordingLogger();
    const driver = new ShelfLinkDriver(
      { path, reopenInitialDelayMs: 5, reopenMaxDelayMs: 20, heartbeatIntervalMs: 50 },
      rec.sink,
      log.logger,
    );
    driver.start();
    cleanups.push(() => driver.close());

    await eventually(() => rec.states.length >= 5, 'five failed opens');
    // Every attempt reports the link down, with why (the agent counts them and reports upward).
    expect(rec.states.slice(0, 5).every((s) => !s.up && /no such file|ENOENT/i.test(s.openError ?? ''))).toBe(
      true,
    );
    // One warning for the outage, not one per retry, naming the port and the reason.
    const warnings = log.warnings();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ path, msg: expect.stringContaining('cannot be opened') });
    expect(warnings[0]?.reason).toMatch(/no such file|ENOENT/i);
    const status = driver.status();
    expect(status.up).toBe(false);
    expect(status.detail).toMatchObject({ openError: expect.stringMatching(/no such file|ENOENT/i) });

    // The port appears (the shelf is plugged in): the link opens, the outage ends in the log.
    const pty = await startPtyPair(dir.path, 'port');
    cleanups.push(pty.stop);
    await eventually(() => rec.states.some((s) => s.up), 'link up');
    expect(driver.status().detail).not.toHaveProperty('openError');
    expect(log.lines.some((l) => l.msg === 'shelf link open again')).toBe(true);
    expect(log.warnings()).toHaveLength(1);
  });

  it("warns of a shelf's cell fault event (the bin is left out of readings), and tells its recovery", async () => {
    const dir = await tempDir('bv-edge-event-');
    cleanups.push(dir.remove);
    const pty = await startPtyPair(dir.path, 'port');
    cleanups.push(pty.stop);
    const shelf = new TestShelf('EVT01', 4, pty.devicePath);
    await shelf.open();
    cleanups.push(() => shelf.close());
    const rec = linkSink();
    const log = recordingLogger();
    const driver = new ShelfLinkDriver({ path: pty.hostPath, heartbeatIntervalMs: 50 }, rec.sink, log.logger);
    driver.start();
    cleanups.push(() => driver.close());
    await eventually(() => rec.online.includes('shelf-EVT01'), 'shelf identified');
    shelf.writeRaw(
      encodeFrame({ type: 'event', deviceTimeMs: 1000, kind: 'cell_fault', bin: 2, value: 0 }, 900),
    );
    shelf.writeRaw(
      encodeFrame({ type: 'event', deviceTimeMs: 2000, kind: 'cell_recovered', bin: 2, value: 0 }, 901),
    );
    await eventually(
      () => log.lines.filter((l) => l.msg === 'shelf event').length === 2,
      'both events logged',
    );
    const events = log.lines.filter((l) => l.msg === 'shelf event').map((l) => [l.level, l.kind, l.bin]);
    expect(events).toEqual([
      [40, 'cell_fault', 2],
      [30, 'cell_recovered', 2],
    ]);
  });

  it('reports the links down upward as links/down and links/error', () => {
    expect(linkHealth(new Map())).toEqual({ linksDown: 0, linkError: '' });
    expect(
      linkHealth(
        new Map([
          ['serial:/dev/ttyNOPE', 'No such file or directory'],
          ['serial:/dev/ttyUSB1', 'Permission denied'],
        ]),
      ),
    ).toEqual({
      linksDown: 2,
      linkError: 'serial:/dev/ttyNOPE: No such file or directory; serial:/dev/ttyUSB1: Permission denied',
    });
  });
});

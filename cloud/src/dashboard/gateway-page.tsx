import type { Alarm } from '@bitv/shared/events';
import type { Child } from 'hono/jsx';
import type { HealthPoint } from '../alarms/health-history.js';
import type { Command } from '../commands/commands.js';
import type { Gateway, Shelf } from '../registry/registry.js';
import type { Shadow } from '../shadows/shadows.js';
import { AlarmsTable } from './alarms-table.js';
import { type ChartSeries, HealthChart } from './gateway-charts.js';
import { formatTime } from './time.js';

export interface GatewayPageData {
  gateway: Gateway;
  shelves: Shelf[];
  health: HealthPoint[];
  /** Absent when the shadows module is not mounted. */
  shadow?: Shadow;
  commands: Command[];
  alarms: Alarm[];
  canOperate: boolean;
  /** Further sections other modules add (rollouts). */
  sections: { id: string; title: string; body: Child }[];
}

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

function charts(health: HealthPoint[]): ChartSeries[] {
  return [
    {
      label: 'Messages / min',
      unit: '/min',
      testId: 'chart-rate',
      points: health.map((h) => ({ time: h.minute, value: h.messages })),
    },
    {
      label: 'Queue depth',
      unit: 'readings',
      testId: 'chart-queue',
      points: health.map((h) => ({ time: h.minute, value: h.queueDepth })),
    },
    {
      label: 'Latency (avg)',
      unit: 'ms',
      testId: 'chart-latency',
      points: health.map((h) => ({ time: h.minute, value: h.latencyAvgMs })),
    },
  ];
}

/** One gateway: its health over time, shelves, shadow (editable), commands, alarms, rollouts. */
export function GatewayPage(props: { data: GatewayPageData }) {
  const { gateway: g, shelves, shadow, commands, alarms, canOperate } = props.data;
  return (
    <div id="gateway-page" data-gateway={g.id} data-testid="gateway-page">
      <h1>
        {g.name}{' '}
        <span class={`pill ${g.online ? 'on' : 'off'}`} data-testid="gateway-online" id="gateway-online">
          {g.online ? 'online' : 'offline'}
        </span>
      </h1>
      <div class="sub">
        {g.id} · site {g.siteId} · agent {g.agentVersion ?? 'unknown'} · last seen {formatTime(g.lastSeenAt)}{' '}
        UTC · <a href="/fleet">fleet</a> · <a href="/alarms">alarms</a>
      </div>
      <div class="charts">
        {charts(props.data.health).map((s) => (
          <HealthChart series={s} />
        ))}
      </div>

      <section class="block" data-testid="gateway-alarms">
        <h2>Alarms</h2>
        <AlarmsTable alarms={alarms} canAck={true} showGateway={false} />
      </section>

      <section class="block shadow" data-testid="gateway-shadow" id="shadow">
        <h2>
          Shadow{' '}
          {shadow ? (
            <small class="none" data-testid="shadow-versions" id="shadow-versions">
              desired v{shadow.version} · reported v{shadow.reportedVersion} ·{' '}
              <span data-testid="shadow-sync" id="shadow-sync">
                {shadow.inSync ? 'in sync' : 'pending'}
              </span>
            </small>
          ) : null}
        </h2>
        {shadow ? (
          <>
            <div class="cols">
              <div>
                <div class="none">Desired</div>
                <pre data-testid="shadow-desired" id="shadow-desired">
                  {pretty(shadow.desired)}
                </pre>
              </div>
              <div>
                <div class="none">
                  Reported {shadow.reportedAt ? `(${formatTime(shadow.reportedAt)})` : ''}
                </div>
                <pre data-testid="shadow-reported" id="shadow-reported">
                  {pretty(shadow.reported)}
                </pre>
              </div>
              <div>
                <div class="none">Delta (still to apply)</div>
                <pre data-testid="shadow-delta" id="shadow-delta">
                  {pretty(shadow.delta)}
                </pre>
              </div>
            </div>
            {canOperate ? (
              <form
                class="inline"
                id="shadow-form"
                data-version={String(shadow.version)}
                style="margin-top:10px"
              >
                <label>
                  Shelf
                  <select name="shelf" data-testid="shadow-shelf">
                    <option value="">(all shelves: gateway default)</option>
                    {shelves.map((s) => (
                      <option value={s.id}>{s.id}</option>
                    ))}
                  </select>
                </label>
                <label>
                  Sample rate (Hz)
                  <input
                    name="rate"
                    type="number"
                    step="0.1"
                    min="0.1"
                    max="1000"
                    data-testid="shadow-rate"
                  />
                </label>
                <button type="submit" data-testid="shadow-save">
                  Set rate
                </button>
                <label>
                  Tare bin
                  <input
                    name="bin"
                    type="number"
                    min="0"
                    max="254"
                    style="width:70px"
                    data-testid="shadow-tare-bin"
                  />
                </label>
                <button type="button" id="shadow-tare" data-testid="shadow-tare">
                  Tare
                </button>
              </form>
            ) : null}
            <div class="msg" id="shadow-msg" data-testid="shadow-msg" />
          </>
        ) : (
          <div class="none">The shadows module is not mounted in this cloud.</div>
        )}
      </section>

      <section class="block" data-testid="gateway-shelves">
        <h2>Shelves</h2>
        <table>
          <thead>
            <tr>
              <th>Shelf</th>
              <th>State</th>
              <th>Firmware</th>
              <th class="num">Bins</th>
              <th>Last seen (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {shelves.length === 0 ? (
              <tr>
                <td colspan={5} class="none">
                  No shelves yet.
                </td>
              </tr>
            ) : null}
            {shelves.map((s) => (
              <tr data-testid={`gw-shelf-${s.id}`}>
                <td>{s.id}</td>
                <td>
                  <span class={`pill ${s.online ? 'on' : 'off'}`}>{s.online ? 'online' : 'offline'}</span>
                </td>
                <td>{s.firmware ?? '–'}</td>
                <td class="num">{String(s.binCount)}</td>
                <td>{formatTime(s.lastSeenAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section class="block" data-testid="gateway-commands">
        <h2>Recent commands</h2>
        <table>
          <thead>
            <tr>
              <th>Command</th>
              <th>Target</th>
              <th>Status</th>
              <th>Requested (UTC)</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            {commands.length === 0 ? (
              <tr>
                <td colspan={5} class="none">
                  No commands yet.
                </td>
              </tr>
            ) : null}
            {commands.map((c) => (
              <tr data-testid="gw-command" data-action={c.command.action}>
                <td>{c.command.action === 'shadow' ? `shadow v${c.command.version}` : c.command.action}</td>
                <td>{c.deviceId ?? '(gateway)'}</td>
                <td>
                  <span class={`pill ${c.status}`}>{c.status}</span>
                </td>
                <td>{formatTime(c.createdAt)}</td>
                <td>{c.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section class="block" data-testid="gateway-rollouts" id="rollouts">
        <h2>Rollouts</h2>
        {props.data.sections.length === 0 ? (
          <div class="none">No rollout module mounted.</div>
        ) : (
          props.data.sections.map((s) => (
            <div id={`section-${s.id}`} data-testid={`gateway-section-${s.id}`}>
              <h2>{s.title}</h2>
              {s.body}
            </div>
          ))
        )}
      </section>
    </div>
  );
}

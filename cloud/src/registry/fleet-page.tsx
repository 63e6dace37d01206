import type { ConsumerStatus } from '@bitv/shared/event-log';
import type { Command } from '../commands/commands.js';
import { ConsumersCard } from '../dashboard/consumers.js';
import { formatTime, timeZoneLabel } from '../dashboard/time.js';
import type { DeviceMetricsRecord } from './device-metrics.js';
import { DeviceMetricsCard } from './device-metrics-card.js';
import type { Gateway, Shelf, Site } from './registry.js';
import type { TelemetryGapRecord } from './telemetry-gaps.js';

export interface FleetData {
  sites: Site[];
  gateways: Gateway[];
  shelves: Shelf[];
  commands: Command[];
  /** Readings each gateway reported lost, and its latest reports. */
  lost: Map<string, number>;
  gaps: TelemetryGapRecord[];
  /** The cloud's own event-log consumers, as its /healthz reports them. */
  consumers: readonly ConsumerStatus[];
  canOperate: boolean;
  /** Devices that are not shelves, with their latest metrics (bv.telemetry.metrics.v1). */
  devices?: DeviceMetricsRecord[];
}

const gapWhat: Record<TelemetryGapRecord['kind'], string> = {
  dropped: 'dropped at the edge (outbox limit)',
  link: 'never received from the shelf',
};

/** How a command reads in the list; the fleet script's `cmdText` writes the same for rows it adds. */
const commandText = (c: Command['command']): string => {
  const what = c.action === 'set_led' ? (c.blink === 'off' ? 'light off' : 'light') : c.action;
  return 'bin' in c ? `${what} bin ${c.bin}` : what;
};

export function FleetPage(props: { data: FleetData }) {
  const { sites, gateways, shelves, commands, lost, gaps, consumers, canOperate } = props.data;
  const lostTotal = gateways.reduce((n, g) => n + (lost.get(g.id) ?? 0), 0);
  const online = gateways.filter((g) => g.online).length;
  return (
    <>
      <h1>Fleet</h1>
      <div class="sub">{`Gateways, their health and commands · times in ${timeZoneLabel}`}</div>
      <div class="stats">
        <div class="stat">
          <div class="v">{`${online}/${gateways.length}`}</div>
          <div class="k">gateways online</div>
        </div>
        <div class="stat">
          <div class="v">{String(shelves.length)}</div>
          <div class="k">shelf controllers</div>
        </div>
        <div class="stat">
          <div class="v">{String(gateways.reduce((n, g) => n + (g.queueDepth ?? 0), 0))}</div>
          <div class="k">readings queued at the edge</div>
        </div>
        <div class="stat">
          <div class="v" data-testid="readings-lost">
            {String(lostTotal)}
          </div>
          <div class="k">readings lost at the edge</div>
        </div>
      </div>
      <table data-testid="gateways">
        <thead>
          <tr>
            <th>Gateway</th>
            <th>Site</th>
            <th>State</th>
            <th>Queue depth</th>
            <th>Lost</th>
            <th>{`Last seen (${timeZoneLabel})`}</th>
            <th>Agent</th>
            <th>Shelves</th>
            {canOperate ? <th>Command</th> : null}
          </tr>
        </thead>
        <tbody>
          {gateways.map((g) => {
            const own = shelves.filter((s) => s.gatewayId === g.id);
            return (
              <tr id={`gw-${g.id}`} data-testid={`gateway-${g.id}`}>
                <td>
                  <a href={`/gateways/${encodeURIComponent(g.id)}`} data-testid={`gateway-link-${g.id}`}>
                    <b>{g.name}</b>
                  </a>
                  <br />
                  <small class="none">{g.id}</small>
                </td>
                <td>{g.siteId}</td>
                <td>
                  <span
                    data-online
                    class={`pill ${g.online ? 'on' : 'off'}`}
                    data-testid={`gateway-state-${g.id}`}
                  >
                    {g.status === 'unclaimed' ? 'unclaimed' : g.online ? 'online' : 'offline'}
                  </span>
                  <DegradedNote gateway={g} />
                </td>
                <td class="num" data-queue>
                  {g.queueDepth === null ? '–' : String(g.queueDepth)}
                </td>
                <td class="num" data-testid={`gateway-lost-${g.id}`}>
                  {String(lost.get(g.id) ?? 0)}
                </td>
                <td class="num" data-seen>
                  {formatTime(g.lastSeenAt)}
                </td>
                <td data-version>{g.agentVersion ?? '–'}</td>
                <td>{String(own.length)}</td>
                {canOperate ? (
                  <td>
                    <form
                      class="inline"
                      data-command={g.id}
                      data-testid={`command-form-${g.id}`}
                      // The script checks the bin against the chosen shelf and says what is wrong.
                      novalidate
                    >
                      <label>
                        <span class="sr">Command</span>
                        <select name="action" data-testid={`command-action-${g.id}`}>
                          <option value="rebirth">rebirth (gateway)</option>
                          <option value="identify">identify shelf</option>
                          <option value="set_led">light bin</option>
                          <option value="led_off">light off</option>
                          <option value="tare">tare bin</option>
                          <option value="reboot">reboot shelf</option>
                        </select>
                      </label>
                      <label>
                        <span class="sr">Target</span>
                        <select name="deviceId" data-testid={`command-device-${g.id}`}>
                          <option value="">(gateway)</option>
                          {own.map((s) => (
                            <option value={s.id} data-bins={String(s.binCount)}>
                              {s.id}
                            </option>
                          ))}
                        </select>
                      </label>
                      <label>
                        <span class="sr">Bin</span>
                        <input
                          name="bin"
                          type="number"
                          min="0"
                          max={String(Math.max(0, ...own.map((s) => s.binCount - 1)))}
                          step="1"
                          placeholder="bin"
                          style="width:64px"
                          data-testid={`command-bin-${g.id}`}
                        />
                      </label>
                      <button type="submit" data-testid={`command-send-${g.id}`}>
                        Send
                      </button>
                      <span class="none" data-out role="status" data-testid={`command-out-${g.id}`} />
                    </form>
                  </td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
      <div class="grid2">
        <div class="card">
          <h2>Recent commands</h2>
          <table data-testid="commands">
            <thead>
              <tr>
                <th>Gateway</th>
                <th>Command</th>
                <th>Status</th>
                <th>{`Requested (${timeZoneLabel})`}</th>
                <th>{`Finished (${timeZoneLabel})`}</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody id="commands">
              {commands.length === 0 ? (
                <tr id="no-commands">
                  <td class="none" colspan={6}>
                    No commands yet.
                  </td>
                </tr>
              ) : null}
              {commands.map((c) => (
                <tr id={`cmd-${c.id}`}>
                  <td>{c.gatewayId}</td>
                  <td>
                    {commandText(c.command)}
                    {c.deviceId ? ` → ${c.deviceId}` : ''}
                  </td>
                  <td>
                    <span class={`pill ${c.status}`}>{c.status}</span>
                  </td>
                  <td class="num" style="white-space:nowrap" data-requested>
                    {formatTime(c.createdAt)}
                  </td>
                  <td class="num" style="white-space:nowrap" data-finished>
                    {c.status === 'sent' ? '' : formatTime(c.updatedAt)}
                  </td>
                  <td data-reason>{c.reason ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="card">
          <h2>Readings lost at the edge</h2>
          <table data-testid="gaps">
            <tbody>
              {gaps.length === 0 ? (
                <tr>
                  <td class="none">Nothing reported lost.</td>
                </tr>
              ) : null}
              {gaps.map((g) => (
                <tr>
                  <td class="num">{formatTime(g.reportedAt)}</td>
                  <td>
                    {g.gatewayId}
                    <br />
                    <small class="none">{g.deviceId}</small>
                  </td>
                  <td class="num">{String(g.count)}</td>
                  <td>
                    {gapWhat[g.kind]}
                    {g.reason ? <small class="none">{` (${g.reason})`}</small> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <ConsumersCard consumers={consumers} />
        <DeviceMetricsCard devices={props.data.devices ?? []} />
        {canOperate ? (
          <div class="card">
            <h2>Claim tokens</h2>
            <div class="none">
              One-time tokens for <code>bitv-edge provision --claim &lt;token&gt; --cloud &lt;url&gt;</code>.
            </div>
            <form class="inline" id="claim-form" style="margin-top:10px">
              <label>
                Site
                <select name="siteId" data-testid="claim-site">
                  {sites.map((s) => (
                    <option value={s.id}>{s.name}</option>
                  ))}
                </select>
              </label>
              <label>
                How many
                <input
                  name="count"
                  type="number"
                  min="1"
                  max="500"
                  value="1"
                  style="width:70px"
                  data-testid="claim-count"
                />
              </label>
              <label>
                Valid for (hours)
                <input
                  name="hours"
                  type="number"
                  min="1"
                  max="720"
                  value="24"
                  style="width:70px"
                  data-testid="claim-hours"
                />
              </label>
              <button type="submit" data-testid="create-claim-tokens">
                Create
              </button>
            </form>
            <pre class="tokens" id="claim-out" data-testid="claim-tokens" />
          </div>
        ) : null}
      </div>
    </>
  );
}

/** A gateway whose agent cannot open a device link (a serial port): degraded, with why. */
export function DegradedNote(props: { gateway: Gateway }) {
  const g = props.gateway;
  return (
    <span class="degraded" data-degraded data-testid={`gateway-degraded-${g.id}`} hidden={!g.linksDown}>
      {' '}
      <span class="pill failed">degraded</span>
      <small class="none" data-link-error>
        {g.linkError ?? ''}
      </small>
    </span>
  );
}

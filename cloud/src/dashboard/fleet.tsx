import type { Command } from '../commands/commands.js';
import type { Gateway, Shelf, Site } from '../registry/registry.js';
import type { TelemetryGapRecord } from '../registry/telemetry-gaps.js';

export interface FleetData {
  sites: Site[];
  gateways: Gateway[];
  shelves: Shelf[];
  commands: Command[];
  /** Readings each gateway reported lost, and its latest reports. */
  lost: Map<string, number>;
  gaps: TelemetryGapRecord[];
  canOperate: boolean;
}

const gapWhat: Record<TelemetryGapRecord['kind'], string> = {
  dropped: 'dropped at the edge (outbox limit)',
  link: 'never received from the shelf',
};

const seen = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(11, 19) : 'never');

export function FleetPage(props: { data: FleetData }) {
  const { sites, gateways, shelves, commands, lost, gaps, canOperate } = props.data;
  const lostTotal = gateways.reduce((n, g) => n + (lost.get(g.id) ?? 0), 0);
  const online = gateways.filter((g) => g.online).length;
  return (
    <>
      <h1>Fleet</h1>
      <div class="sub">Gateways, their health and commands</div>
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
            <th>Last seen (UTC)</th>
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
                  <b>{g.name}</b>
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
                </td>
                <td class="num" data-queue>
                  {g.queueDepth === null ? '–' : String(g.queueDepth)}
                </td>
                <td class="num" data-testid={`gateway-lost-${g.id}`}>
                  {String(lost.get(g.id) ?? 0)}
                </td>
                <td class="num" data-seen>
                  {seen(g.lastSeenAt)}
                </td>
                <td data-version>{g.agentVersion ?? '–'}</td>
                <td>{String(own.length)}</td>
                {canOperate ? (
                  <td>
                    <form class="inline" data-command={g.id}>
                      <select name="action">
                        <option value="rebirth">rebirth</option>
                        <option value="identify">identify</option>
                        <option value="set_led">light bin</option>
                        <option value="tare">tare bin</option>
                        <option value="reboot">reboot</option>
                      </select>
                      <select name="deviceId">
                        <option value="">(gateway)</option>
                        {own.map((s) => (
                          <option value={s.id}>{s.id}</option>
                        ))}
                      </select>
                      <input
                        name="bin"
                        type="number"
                        min="0"
                        max="255"
                        placeholder="bin"
                        style="width:64px"
                      />
                      <button type="submit">Send</button>
                      <span class="none" data-out />
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
          <table>
            <tbody id="commands">
              {commands.length === 0 ? (
                <tr id="no-commands">
                  <td class="none">No commands yet.</td>
                </tr>
              ) : null}
              {commands.map((c) => (
                <tr id={`cmd-${c.id}`}>
                  <td>{c.gatewayId}</td>
                  <td>
                    {c.command.action}
                    {c.deviceId ? ` → ${c.deviceId}` : ''}
                  </td>
                  <td>
                    <span class={`pill ${c.status}`}>{c.status}</span>
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
                  <td>{seen(g.reportedAt)}</td>
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
        {canOperate ? (
          <div class="card">
            <h2>Claim tokens</h2>
            <div class="none">
              One-time tokens for <code>bitv-edge provision --claim &lt;token&gt; --cloud &lt;url&gt;</code>.
            </div>
            <form class="inline" id="claim-form" style="margin-top:10px">
              <select name="siteId">
                {sites.map((s) => (
                  <option value={s.id}>{s.name}</option>
                ))}
              </select>
              <input
                name="count"
                type="number"
                min="1"
                max="500"
                value="1"
                style="width:70px"
                title="how many"
              />
              <input
                name="hours"
                type="number"
                min="1"
                max="720"
                value="24"
                style="width:70px"
                title="valid for hours"
              />
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

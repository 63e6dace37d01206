import type { Alarm } from '@bitv/shared/events';
import { formatTime } from './time.js';

/**
 * Alarms as rows, newest first, with an acknowledge button on active ones. The gateway page and
 * the alarm list share it; their script updates rows by `alarm-<id>` as alarms change live.
 */
export function AlarmsTable(props: { alarms: Alarm[]; canAck: boolean; showGateway: boolean }) {
  return (
    <table data-testid="alarms" id="alarms-table">
      <thead>
        <tr>
          <th>State</th>
          <th>Severity</th>
          <th>Alarm</th>
          {props.showGateway ? <th>Gateway</th> : null}
          <th>Raised (UTC)</th>
          <th class="num">Seen</th>
          <th />
        </tr>
      </thead>
      <tbody id="alarm-rows">
        {props.alarms.length === 0 ? (
          <tr id="no-alarms">
            <td colspan={props.showGateway ? 7 : 6} class="none">
              No alarms.
            </td>
          </tr>
        ) : null}
        {props.alarms.map((a) => (
          <tr
            id={`alarm-${a.alarmId}`}
            data-testid="alarm"
            data-kind={a.kind}
            data-state={a.state}
            data-gateway={a.gatewayId}
          >
            <td>
              <span class={`pill ${a.state}`} data-alarm-state>
                {a.state}
              </span>
            </td>
            <td class={`sev-${a.severity}`}>{a.severity}</td>
            <td>
              <b>{a.kind.replace('_', ' ')}</b>
              <br />
              <small data-alarm-message>{a.message}</small>
            </td>
            {props.showGateway ? (
              <td>
                <a href={`/gateways/${encodeURIComponent(a.gatewayId)}`}>{a.gatewayId}</a>
              </td>
            ) : null}
            <td>{formatTime(a.raisedAt)}</td>
            <td class="num" data-alarm-occurrences>
              {String(a.occurrences)}
            </td>
            <td>
              {props.canAck && a.state === 'active' ? (
                <button type="button" data-ack={a.alarmId} data-testid={`ack-${a.alarmId}`}>
                  Acknowledge
                </button>
              ) : a.acknowledgedBy ? (
                <small class="none">ack by {a.acknowledgedBy}</small>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

import { formatTime } from '../dashboard/time.js';
import type { DeviceMetricsRecord, MetricValue } from './device-metrics.js';

const shown = (v: MetricValue): string => (v === null ? 'unknown' : String(v));

/**
 * Sparkplug devices that are not shelves (a third-party edge node's, or ours with other sensors):
 * their latest metrics, as bv.telemetry.metrics.v1 carried them. Full history through
 * `GET /api/v1/devices/{gatewayId}/{deviceId}/metrics`.
 */
export function DeviceMetricsCard(props: { devices: readonly DeviceMetricsRecord[] }) {
  return (
    <div class="card">
      <h2>Other Sparkplug devices</h2>
      <table data-testid="device-metrics">
        <tbody>
          {props.devices.length === 0 ? (
            <tr>
              <td class="none">Every device is a shelf.</td>
            </tr>
          ) : null}
          {props.devices.map((d) => (
            <tr data-device={`${d.gatewayId}/${d.deviceId ?? ''}`}>
              <td>
                {d.gatewayId}
                <br />
                <small class="none">{d.deviceId ?? '(edge node)'}</small>
              </td>
              <td>
                {d.metrics.slice(0, 20).map((m) => (
                  <div>
                    <code>{m.name}</code>
                    {` = ${shown(m.value).slice(0, 80)} `}
                    <small class="none">{`${m.type} · ${formatTime(m.time)}${m.historical ? ' · historical' : ''}`}</small>
                  </div>
                ))}
                {d.metrics.length > 20 ? (
                  <small class="none">{`and ${d.metrics.length - 20} more`}</small>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

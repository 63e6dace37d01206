import type { Alarm } from '@bitv/shared/events';
import { AlarmsTable } from './alarms-table.js';

export const alarmStatesShown = ['open', 'active', 'acknowledged', 'cleared', 'all'] as const;
export type AlarmStateShown = (typeof alarmStatesShown)[number];

/** The alarm list: every alarm of the sites the user sees, by state, live. */
export function AlarmsPage(props: { alarms: Alarm[]; state: AlarmStateShown; canAck: boolean }) {
  const open = props.alarms.filter((a) => a.state !== 'cleared');
  return (
    <>
      <h1>Alarms</h1>
      <div class="sub">
        Raised from gateway and shelf health; one alarm per cause (a repeat counts as seen again).
      </div>
      <div class="stats">
        <div class="stat">
          <div class="v" id="alarms-active" data-testid="alarms-active">
            {String(open.filter((a) => a.state === 'active').length)}
          </div>
          <div class="k">active</div>
        </div>
        <div class="stat">
          <div class="v">{String(open.filter((a) => a.state === 'acknowledged').length)}</div>
          <div class="k">acknowledged</div>
        </div>
      </div>
      <form class="inline" method="get" action="/alarms" style="margin-bottom:12px">
        <label>
          State
          <select name="state" data-testid="alarm-state-filter">
            {alarmStatesShown.map((s) => (
              <option value={s} selected={s === props.state}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
      </form>
      <AlarmsTable alarms={props.alarms} canAck={props.canAck} showGateway={true} />
    </>
  );
}

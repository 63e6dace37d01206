import type { ConsumerStatus } from '@bitv/shared/event-log';
import { formatTime, timeZoneLabel } from './time.js';

/** How a consumer's state reads: `up` only while it fetches; stock is not counted otherwise. */
const stateText: Record<ConsumerStatus['state'], string> = {
  running: 'up',
  starting: 'starting',
  restarting: 'down',
};
const stateClass: Record<ConsumerStatus['state'], string> = {
  running: 'on',
  starting: 'off',
  restarting: 'failed',
};

/**
 * The cloud's own event-log consumers (inventory, device state, command results), as its
 * `/healthz` reports them: one that crashed is down, with why and since when, while it restarts
 * with backoff. The fleet script reads `/healthz` again to keep the rows current.
 */
export function ConsumersCard(props: { consumers: readonly ConsumerStatus[] }) {
  const { consumers } = props;
  const down = consumers.filter((c) => c.state !== 'running').length;
  return (
    <div class="card">
      <h2>Cloud consumers</h2>
      <div class="none" data-consumers-summary data-testid="consumers-summary">
        {down === 0
          ? 'All consuming: stock is counted as readings arrive.'
          : `${down} not consuming: stock is not counted until they are back.`}
      </div>
      <table data-testid="consumers">
        <thead>
          <tr>
            <th>Consumer group</th>
            <th>Topics</th>
            <th>State</th>
            <th>Restarts</th>
            <th>{`Down since (${timeZoneLabel})`}</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {consumers.length === 0 ? (
            <tr>
              <td class="none">No consumers.</td>
            </tr>
          ) : null}
          {consumers.map((c) => (
            <tr data-consumer={c.group} data-testid={`consumer-${c.group}`}>
              <td>{c.group}</td>
              <td>{c.topics.join(', ')}</td>
              <td>
                <span class={`pill ${stateClass[c.state]}`} data-consumer-state>
                  {stateText[c.state]}
                </span>
              </td>
              <td class="num">{String(c.restarts)}</td>
              <td class="num" data-consumer-since>
                {c.since ? formatTime(c.since) : ''}
              </td>
              <td data-consumer-reason>{c.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

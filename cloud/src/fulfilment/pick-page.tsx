import type { Site } from '../registry/registry.js';
import type { PickView } from './fulfilment.js';

export interface PickStationData {
  site: Site;
  current: PickView | undefined;
  waiting: PickView[];
  recent: PickView[];
}

function Lines(props: { pick: PickView }) {
  return (
    <table data-testid="pick-lines">
      <thead>
        <tr>
          <th>#</th>
          <th>SKU</th>
          <th>Where</th>
          <th>Quantity</th>
          <th>Taken</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {props.pick.lines.map((l, i) => (
          <tr
            id={`line-${l.lineId}`}
            class={`line ${l.status}`}
            data-status={l.status}
            data-testid={`pick-line-${i + 1}`}
          >
            <td class="num">{String(i + 1)}</td>
            <td>{l.sku}</td>
            <td>{l.shelfId === null ? 'not on this site' : `${l.shelfId} · bin ${l.bin}`}</td>
            <td class="num">{String(l.quantity)}</td>
            <td class="num" data-taken>
              {String(l.taken)}
            </td>
            <td>
              <span class={`pill line-${l.status}`} data-line-status>
                {l.status}
              </span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function PickTable(props: { picks: PickView[]; empty: string; testId: string }) {
  if (props.picks.length === 0) return <p class="none">{props.empty}</p>;
  return (
    <table data-testid={props.testId}>
      <thead>
        <tr>
          <th>Order</th>
          <th>Lines</th>
          <th>Status</th>
          <th>Updated</th>
        </tr>
      </thead>
      <tbody>
        {props.picks.map((p) => (
          <tr data-order={p.orderId}>
            <td>{p.orderId}</td>
            <td class="num">{String(p.lines.length)}</td>
            <td>
              <span class={`pill pick-${p.status}`}>{p.status}</span>
            </td>
            <td>{p.updatedAt.slice(11, 19)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The pick station: the site's pick in progress, each line confirming live, and the queue. */
export function PickStationPage(props: { data: PickStationData }) {
  const { site, current, waiting, recent } = props.data;
  const done = current ? current.lines.filter((l) => l.status !== 'open').length : 0;
  return (
    <div id="pick-station" data-pick-id={current?.pickId ?? ''}>
      <h1>Pick station · {site.name}</h1>
      <div class="sub">Lit bins are picked in walking order; the weight leaving a bin confirms its line.</div>
      {current ? (
        <div class="layout">
          <section>
            <div class="stats">
              <div class="stat">
                <div class="v" data-testid="pick-order">
                  {current.orderId}
                </div>
                <div class="k">order</div>
              </div>
              <div class="stat">
                <div class="v">
                  <span id="lines-done">{String(done)}</span>/{String(current.lines.length)}
                </div>
                <div class="k">lines done</div>
              </div>
              <div class="stat">
                <div class="v">
                  <span id="pick-status" class={`pill pick-${current.status}`} data-testid="pick-status">
                    {current.status}
                  </span>
                </div>
                <div class="k">status</div>
              </div>
            </div>
            <Lines pick={current} />
          </section>
          <aside>
            <div class="panel">
              <h2>Mis-picks</h2>
              <ul class="alerts" id="mis-picks">
                {current.misPicks.map((m) => (
                  <li class="alert mis-pick" data-testid="mis-pick">
                    {`${m.taken} unit(s) taken from the wrong bin: put them back`}
                    <small>{`${m.shelfId} · bin ${m.bin}`}</small>
                  </li>
                ))}
              </ul>
              <p class="none" id="no-mis-picks" hidden={current.misPicks.length > 0}>
                None.
              </p>
            </div>
          </aside>
        </div>
      ) : (
        <p class="none" data-testid="no-pick">
          No pick in progress.
        </p>
      )}
      <div class="grid2">
        <div>
          <h2>Waiting</h2>
          <PickTable picks={waiting} empty="No lists waiting." testId="picks-waiting" />
        </div>
        <div>
          <h2>Recent</h2>
          <PickTable picks={recent} empty="Nothing picked yet." testId="picks-recent" />
        </div>
      </div>
    </div>
  );
}

import type { Child } from 'hono/jsx';
import type { RolloutView } from '../firmware/rollouts.js';

/**
 * The rollouts page and the rollouts section of a gateway's page: each job's waves and progress,
 * and its devices with their outcome. The page script refreshes a job's row from the live
 * channel's `rollout` messages (see `rolloutScript`).
 */
export function RolloutRows(props: { rollouts: RolloutView[]; gatewayId?: string }): Child {
  if (props.rollouts.length === 0) return <div class="none">No rollouts.</div>;
  return (
    <table data-testid="rollouts" data-scope={props.gatewayId ? 'gateway' : 'all'}>
      <thead>
        <tr>
          <th>Version</th>
          <th>Status</th>
          <th>Wave</th>
          <th>Done</th>
          <th>Failed</th>
          <th>In progress</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        {props.rollouts.map((r) => {
          const devices = props.gatewayId
            ? r.devices.filter((d) => d.gatewayId === props.gatewayId)
            : r.devices;
          const count = (s: string) => devices.filter((d) => d.state === s).length;
          return (
            <tr data-rollout={r.id} data-testid={`rollout-${r.id}`}>
              <td>
                <a href={`/firmware/rollouts/${r.id}`}>{r.spec.version}</a>
              </td>
              <td>
                <span class={`pill ${r.status}`} data-field="status">
                  {r.status}
                </span>
              </td>
              <td data-field="wave">
                {Math.min(r.wave + 1, r.waves)} of {r.waves}
              </td>
              <td data-field="succeeded">
                {count('succeeded')} / {devices.length}
              </td>
              <td data-field="failed">{count('failed')}</td>
              <td data-field="inProgress">{count('in_progress')}</td>
              <td>{r.reason ?? ''}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function RolloutDetail(props: { rollout: RolloutView }): Child {
  const r = props.rollout;
  return (
    <div data-testid="rollout-detail" data-rollout={r.id}>
      <RolloutRows rollouts={[r]} />
      <h2>Devices</h2>
      <table data-testid="rollout-devices">
        <thead>
          <tr>
            <th>Wave</th>
            <th>Shelf</th>
            <th>Gateway</th>
            <th>State</th>
            <th>Attempts</th>
            <th>Version</th>
            <th>Why</th>
          </tr>
        </thead>
        <tbody>
          {r.devices.map((d) => (
            <tr data-device={d.deviceId}>
              <td>{d.wave + 1}</td>
              <td>{d.deviceId}</td>
              <td>
                <a href={`/gateways/${d.gatewayId}`}>{d.gatewayId}</a>
              </td>
              <td>
                <span class={`pill ${d.state}`}>{d.state}</span>
              </td>
              <td>{d.attempts}</td>
              <td>{d.version ?? ''}</td>
              <td>{d.reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Follows `rollout` messages on the live channel and updates the rows in place (status, wave,
 * counts); a job it has no row for reloads the page.
 */
export const rolloutScript = `
(function(){
  var proto=location.protocol==='https:'?'wss:':'ws:';
  var ws=new WebSocket(proto+'//'+location.host+'/api/v1/live');
  ws.onmessage=function(e){var m;try{m=JSON.parse(e.data)}catch(_){return}
    if(m.type!=='rollout')return;
    var row=document.querySelector('tr[data-rollout="'+m.rolloutId+'"]');
    if(!row)return;
    var set=function(f,t){var el=row.querySelector('[data-field="'+f+'"]');if(el)el.textContent=t};
    set('status',m.status);var p=row.querySelector('[data-field="status"]');if(p)p.className='pill '+m.status;
    set('wave',Math.min(m.wave+1,m.waves)+' of '+m.waves);
    // A gateway page counts only that gateway's shelves: the job's totals do not belong there.
    if(!row.closest('[data-scope="gateway"]')){
      set('succeeded',m.progress.succeeded+' / '+m.progress.total);
      set('failed',String(m.progress.failed));set('inProgress',String(m.progress.inProgress))}
  };
})();
`;

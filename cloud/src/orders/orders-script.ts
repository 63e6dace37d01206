/**
 * The orders pages' client script: follows the live WebSocket (the server sends a shopper only
 * their own orders, staff their sites') and updates each listed order's status as `order`
 * messages come; on an order's detail page a newer event reloads it (the timeline grows). No
 * build step, like the dashboard's other scripts.
 */
export const ordersScript = `
(function(){
  var root=document.getElementById('orders');if(!root)return;
  var detail=root.getAttribute('data-order-id'), liveEl=document.getElementById('orders-live');
  function setLive(on){if(liveEl){liveEl.className='pill '+(on?'on':'off');liveEl.textContent=on?'live':'reconnecting'}}
  function onOrder(m){
    if(detail){if(m.orderId===detail&&m.version>Number(root.getAttribute('data-version')))location.reload();return}
    var row=root.querySelector('tr[data-order="'+m.orderId+'"]');
    if(!row){if(m.status==='placed'){var n=document.getElementById('orders-new');if(n)n.hidden=false}return}
    if(m.version<=Number(row.getAttribute('data-version')))return;
    row.setAttribute('data-version',String(m.version));row.setAttribute('data-status',m.status);
    var p=row.querySelector('[data-order-status]');if(p){p.textContent=m.status;p.className='pill order-'+m.status}
    var u=row.querySelector('[data-updated]');if(u)u.textContent=m.at.slice(0,19).replace('T',' ');
  }
  var delay=500;
  function connect(){var proto=location.protocol==='https:'?'wss:':'ws:';
    var ws=new WebSocket(proto+'//'+location.host+'/api/v1/live');
    ws.onmessage=function(e){var m=JSON.parse(e.data);if(m.type==='hello'){delay=500;setLive(true);return}if(m.type==='order')onOrder(m)};
    ws.onclose=function(){setLive(false);setTimeout(connect,delay);delay=Math.min(delay*2,10000)};}
  connect();
})();
`;

/** Status colours, in the dashboard's palette. */
export const ordersCss = `
.orders .filters{margin:12px 0}.orders td.id{font-family:ui-monospace,monospace;font-size:12px}
.pill.order-placed,.pill.order-reserved{background:#e0e7ff;color:#3730a3}
.pill.order-confirmed,.pill.order-picking,.pill.order-picked,.pill.order-packed,.pill.order-shipped{background:#dcfce7;color:#166534}
.pill.order-rejected{background:#fee2e2;color:#991b1b}.pill.order-cancelled{background:#f3f4f6;color:#4b5563}
.orders dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:0 0 16px}.orders dt{color:var(--muted);font-size:13px}
.orders td code{font-size:12px;white-space:pre-wrap;word-break:break-all}
`;

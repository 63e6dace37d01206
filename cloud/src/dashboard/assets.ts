import { clientFormatTime } from './time.js';

/** The dashboard's stylesheet and client script, served from memory (no build step, no CDN). */
export const css = `
:root{--bg:#f4f6f9;--card:#fff;--ink:#18212f;--muted:#6b7687;--line:#e3e7ee;--brand:#2f6fed;--ok:#1f9d55;--warn:#d97706;--bad:#dc2626;--lit:#facc15;
--radius:10px;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Ubuntu,sans-serif;color:var(--ink);background:var(--bg)}
*{box-sizing:border-box}body{margin:0}a{color:var(--brand);text-decoration:none}
header.top{display:flex;align-items:center;gap:24px;padding:0 24px;height:56px;background:#101828;color:#e6ebf3}
header.top .logo{font-weight:700;letter-spacing:.3px;font-size:17px}header.top .logo span{color:#7aa7ff}
header.top nav{display:flex;gap:4px}header.top nav a{color:#b8c2d3;padding:8px 12px;border-radius:8px;font-size:14px}
header.top nav a.active,header.top nav a:hover{background:#1f2a3d;color:#fff}
header.top .right{margin-left:auto;display:flex;align-items:center;gap:14px;font-size:13px;color:#b8c2d3}
.live{display:inline-flex;align-items:center;gap:6px}.dot{width:9px;height:9px;border-radius:50%;background:#6b7687;display:inline-block}
.live.on .dot,.dot.on{background:#22c55e;box-shadow:0 0 0 3px rgba(34,197,94,.2)}.dot.off{background:#dc2626}
main{padding:24px;max-width:1400px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 12px}.sub{color:var(--muted);font-size:13px;margin-bottom:20px}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin-bottom:20px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:14px 16px}
.stat .v{font-size:26px;font-weight:700}.stat .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.5px}
.layout{display:grid;grid-template-columns:1fr 300px;gap:20px}@media(max-width:1000px){.layout{grid-template-columns:1fr}}
.aisle{margin-bottom:22px}.aisle>h2{display:flex;align-items:center;gap:8px}
.shelf{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:14px;margin-bottom:14px}
.shelf .head{display:flex;align-items:center;gap:10px;margin-bottom:12px;font-size:14px}.shelf .head b{font-size:15px}
.shelf .head .meta{color:var(--muted);font-size:12px;margin-left:auto}
.bins{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.bin{position:relative;border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:#fbfcfe;transition:background .6s,border-color .3s}
.bin .no{font-size:11px;color:var(--muted);font-weight:600}.bin .sku{font-size:12px;color:var(--muted);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.bin .name{font-size:13px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;margin:2px 0 6px}
.bin .count{font-size:30px;font-weight:750;line-height:1;font-variant-numeric:tabular-nums}.bin .count small{font-size:12px;color:var(--muted);font-weight:500;margin-left:4px}
.bin .weight{font-size:11px;color:var(--muted);margin-top:6px;font-variant-numeric:tabular-nums}
.conf{height:4px;background:var(--line);border-radius:2px;margin-top:6px;overflow:hidden}.conf i{display:block;height:100%;background:var(--ok)}
.bin.low{border-color:var(--warn);background:#fff8eb}.bin.low .count{color:var(--warn)}
.bin.empty .count{color:var(--muted)}
.bin.lit{box-shadow:0 0 0 3px var(--lit),0 0 18px rgba(250,204,21,.6)}.bin .lamp{position:absolute;top:9px;right:10px;width:10px;height:10px;border-radius:50%;background:var(--line)}
.bin.lit .lamp{background:var(--lit)}.bin.flash-down{background:#e8f0ff}.bin.flash-up{background:#e9f9ef}
aside .panel{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:14px;margin-bottom:14px}
.alerts{list-style:none;margin:0;padding:0}.alerts li{border-left:3px solid var(--warn);padding:6px 10px;margin-bottom:8px;background:#fff8eb;border-radius:0 6px 6px 0;font-size:13px}
.alerts li small{display:block;color:var(--muted)}
.alerts li.cell-fault,.alerts li.shelf-offline{border-left-color:var(--bad);background:#fef2f2}.alerts li.low-confidence{border-left-color:var(--bad);background:#fff7f7}
.banner{background:#fef2f2;border:1px solid var(--bad);color:#7f1d1d;border-radius:var(--radius);padding:10px 14px;margin-bottom:14px;font-size:14px}.banner small{display:block;color:var(--muted)}
.degraded small{display:block;max-width:260px}
.bin .health{font-size:11px;font-weight:700;color:var(--bad);text-transform:uppercase;letter-spacing:.4px;min-height:0}.bin .health:empty{display:none}
.bin.stale{border-color:var(--bad);background:#fef2f2}.bin.stale .count{color:#9aa3b2;text-decoration:line-through dotted;text-decoration-thickness:1px}
.bin.stale .conf i{background:var(--bad)}.bin.stale .weight{color:var(--bad)}.none{color:var(--muted);font-size:13px}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:var(--radius);overflow:hidden;font-size:14px}
th,td{text-align:left;padding:10px 12px;border-bottom:1px solid var(--line)}th{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.4px;background:#f8fafc}
tr:last-child td{border-bottom:0}td.num{font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:2px 8px;border-radius:999px;font-size:12px;font-weight:600}.pill.on{background:#dcfce7;color:#166534}.pill.off{background:#fee2e2;color:#991b1b}
.pill.sent{background:#e0e7ff;color:#3730a3}.pill.done{background:#dcfce7;color:#166534}.pill.failed{background:#fee2e2;color:#991b1b}.pill.expired{background:#f3f4f6;color:#4b5563}
form.inline{display:flex;gap:6px;flex-wrap:wrap;align-items:center}form.inline label{display:inline-flex;align-items:center;gap:6px;font-size:13px;color:var(--muted)}
.sr{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
input,select,button{font:inherit;font-size:13px;padding:6px 9px;border:1px solid var(--line);border-radius:7px;background:#fff}
button{background:var(--brand);color:#fff;border-color:var(--brand);cursor:pointer;font-weight:600}button:hover{filter:brightness(1.08)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:20px;margin-top:20px}@media(max-width:1000px){.grid2{grid-template-columns:1fr}}
.card{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:16px}
.tokens:empty{display:none}.tokens{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all;background:#f8fafc;border:1px solid var(--line);border-radius:7px;padding:8px;margin-top:10px}
.login{max-width:360px;margin:12vh auto;background:var(--card);border:1px solid var(--line);border-radius:14px;padding:28px}
.login h1{margin-bottom:18px}.login label{display:block;font-size:13px;color:var(--muted);margin:12px 0 4px}.login input{width:100%;padding:9px}
.login button{width:100%;margin-top:18px;padding:10px}.error{color:var(--bad);font-size:13px;margin-top:10px}
`;

export const liveScript = `
(function(){
  ${clientFormatTime}
  var root=document.body, site=root.getAttribute('data-site'), liveEl=document.getElementById('live');
  function q(s){return document.querySelector(s)}
  function setLive(on){if(liveEl){liveEl.classList.toggle('on',on);liveEl.querySelector('span:last-child').textContent=on?'live':'reconnecting';}}
  function binEl(shelf,bin){return document.getElementById('bin-'+shelf+'-'+bin)}
  function onStock(m){var el=binEl(m.shelfId,m.bin);if(!el)return;var c=el.querySelector('[data-count]');c.firstChild.textContent=String(m.count);
    var th=el.getAttribute('data-threshold');el.classList.toggle('low',th!==''&&m.count<=Number(th));el.classList.toggle('empty',m.count===0);
    var bar=el.querySelector('.conf i');if(bar)bar.style.width=Math.round(m.confidence*100)+'%';
    var cls=m.count<m.previousCount?'flash-down':'flash-up';el.classList.add(cls);setTimeout(function(){el.classList.remove(cls)},900);
    if(m.weightG!=null)setWeight(el,m.weightG);var t=q('#total-units');if(t)t.textContent=String(Number(t.textContent)+m.count-m.previousCount);}
  function setWeight(el,w){el.setAttribute('data-weight-g',String(w));var x=el.querySelector('[data-weight]');if(x&&el.getAttribute('data-health')==='ok')x.textContent=(w-Number(el.getAttribute('data-tare')||0)).toFixed(1)+' g net'}
  function onWeight(m){var el=binEl(m.shelfId,m.bin);if(el)setWeight(el,m.weightG)}
  function onAlert(m){var list=q('#alerts');if(!list)return;var li=document.getElementById('alert-'+m.alertId);
    if(m.status==='open'&&!li){li=document.createElement('li');li.id='alert-'+m.alertId;li.setAttribute('data-testid','alert');li.textContent=m.message;
      li.className='alert '+String(m.kind||'low_stock').replace('_','-');li.setAttribute('data-kind',m.kind||'low_stock');
      var s=document.createElement('small');s.textContent=m.shelfId+' · bin '+m.bin;li.appendChild(s);list.prepend(li);}
    if(m.status==='cleared'&&li)li.remove();var none=q('#no-alerts');if(none)none.hidden=list.children.length>0;var n=q('#open-alerts');if(n)n.textContent=String(list.children.length);}
  var healthLabels={shelf_offline:'shelf offline',cell_fault:'cell fault',low_confidence:'low confidence'};
  function onBinHealth(m){var el=binEl(m.shelfId,m.bin);if(!el)return;var was=el.getAttribute('data-health');
    el.setAttribute('data-health',m.health);el.setAttribute('data-weighed-at',m.weighedAt||'');
    ['shelf-offline','cell-fault','low-confidence'].forEach(function(c){el.classList.remove(c)});el.classList.toggle('stale',m.health!=='ok');
    if(m.health!=='ok')el.classList.add(m.health.replace('_','-'));var l=el.querySelector('[data-health-label]');if(l)l.textContent=healthLabels[m.health]||'';
    var w=el.querySelector('[data-weight]'),g=el.getAttribute('data-weight-g');if(m.health!=='ok'&&w)w.textContent='last weighed '+bvTime(m.weighedAt);
    else if(g)setWeight(el,Number(g));
    if(m.health==='shelf_offline')onShelf({shelfId:m.shelfId,online:false});
    var n=q('#stale-bins');if(n&&was!==m.health)n.textContent=String(document.querySelectorAll('.bin.stale').length);}
  function onWeighed(m){var el=binEl(m.shelfId,m.bin);if(el){el.setAttribute('data-weighed','true');el.setAttribute('data-tare',String(m.tareG))}}
  function onLight(m){var el=binEl(m.shelfId,m.bin);if(el)el.classList.toggle('lit',m.color!==null)}
  function onShelf(m){var d=document.getElementById('shelf-dot-'+m.shelfId);if(d){d.classList.toggle('on',m.online);d.classList.toggle('off',!m.online)}
    var n=q('#shelves-online');if(n)n.textContent=document.querySelectorAll('[id^="shelf-dot-"].on').length+'/'+document.querySelectorAll('[id^="shelf-dot-"]').length;}
  function onGateway(m){onDegraded(m);var row=document.getElementById('gw-'+m.gatewayId);if(!row)return;
    var p=row.querySelector('[data-online]');p.textContent=m.online?'online':'offline';p.className='pill '+(m.online?'on':'off');
    row.querySelector('[data-queue]').textContent=m.queueDepth==null?'–':String(m.queueDepth);
    row.querySelector('[data-seen]').textContent=bvTime(m.lastSeenAt);
    if(m.agentVersion)row.querySelector('[data-version]').textContent=m.agentVersion;}
  function onDegraded(m){if(m.linksDown==null)return;['degraded-'+m.gatewayId,'gw-'+m.gatewayId].forEach(function(id){var el=document.getElementById(id);if(!el)return;
    var box=id.indexOf('gw-')===0?el.querySelector('[data-degraded]'):el;if(!box)return;box.hidden=!m.linksDown;var e=box.querySelector('[data-link-error]');if(e)e.textContent=m.linkError||''})}
  function onCommand(m){var el=document.getElementById('cmd-'+m.commandId);if(!el)return;var p=el.querySelector('.pill');p.textContent=m.status;p.className='pill '+m.status;
    var done=el.querySelector('[data-finished]');if(done&&m.status!=='sent')done.textContent=bvTime(m.updatedAt);
    if(m.reason)el.querySelector('[data-reason]').textContent=m.reason;}
  var handlers={'bin-health':onBinHealth,weighed:onWeighed,stock:onStock,weight:onWeight,alert:onAlert,light:onLight,shelf:onShelf,gateway:onGateway,command:onCommand};
  var delay=500, failures=0;
  function connect(){var proto=location.protocol==='https:'?'wss:':'ws:';
    var ws=new WebSocket(proto+'//'+location.host+'/api/v1/live'+(site?'?site='+encodeURIComponent(site):''));var greeted=false;
    ws.onmessage=function(e){var m=JSON.parse(e.data);if(m.type==='hello'){greeted=true;failures=0;delay=500;setLive(true);return}var h=handlers[m.type];if(h)h(m)};
    ws.onclose=function(){setLive(false);if(!greeted&&++failures>=3){location.reload();return}setTimeout(connect,delay);delay=Math.min(delay*2,10000)};}
  connect();
  window.bvPost=function(path,body){return fetch(path,{method:'POST',credentials:'same-origin',headers:{'content-type':'application/json'},body:JSON.stringify(body)})
    .then(function(r){return r.json().then(function(j){if(!r.ok)throw new Error(j.error?j.error.message:r.statusText);return j})})};
})();
`;

// The fleet page's script lives beside the fleet page.

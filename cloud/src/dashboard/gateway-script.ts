import { clientFormatTime } from './time.js';

/**
 * The gateway page's and the alarm list's script: acknowledge buttons, the shadow form (a JSON
 * merge patch sent with the version read, so a concurrent change is refused rather than lost),
 * and live updates from the WebSocket: alarms raised, acknowledged and cleared; the shadow
 * re-read when its desired or reported state changes; the gateway's online state.
 */
export const gatewayScript = `
(function(){
  ${clientFormatTime}
  var page=document.getElementById('gateway-page'), gw=page?page.getAttribute('data-gateway'):null;
  function q(s){return document.querySelector(s)}
  function call(method,path,body,headers){var h={'content-type':'application/json'};for(var k in headers||{})h[k]=headers[k];
    return fetch(path,{method:method,credentials:'same-origin',headers:h,body:body===undefined?undefined:JSON.stringify(body)})
    .then(function(r){return r.json().then(function(j){if(!r.ok)throw new Error(j.error?j.error.message:r.statusText);return j})})}
  function msg(text,ok){var m=q('#shadow-msg');if(m){m.textContent=text;m.className='msg '+(ok?'ok':'bad')}}
  document.addEventListener('click',function(e){var b=e.target.closest?e.target.closest('[data-ack]'):null;if(!b)return;
    b.disabled=true;call('POST','/api/v1/alarms/'+encodeURIComponent(b.getAttribute('data-ack'))+'/acknowledge').then(onAlarm)
    .catch(function(err){b.disabled=false;alert(err.message)})});
  function pretty(v){return JSON.stringify(v,null,2)}
  function showShadow(s){var f=q('#shadow-form');if(f)f.setAttribute('data-version',String(s.version));
    var d=q('#shadow-desired');if(d)d.textContent=pretty(s.desired);var r=q('#shadow-reported');if(r)r.textContent=pretty(s.reported);
    var x=q('#shadow-delta');if(x)x.textContent=pretty(s.delta);
    var v=q('#shadow-versions');if(v)v.innerHTML='desired v'+s.version+' · reported v'+s.reportedVersion+' · <span data-testid="shadow-sync" id="shadow-sync">'+(s.inSync?'in sync':'pending')+'</span>';}
  function reload(){if(gw)call('GET','/api/v1/gateways/'+encodeURIComponent(gw)+'/shadow').then(showShadow).catch(function(){})}
  function patch(p){var f=q('#shadow-form');var version=f.getAttribute('data-version');
    return call('PATCH','/api/v1/gateways/'+encodeURIComponent(gw)+'/shadow/desired',{patch:p},{'if-match':'"'+version+'"'})
      .then(function(s){showShadow(s);msg('saved as version '+s.version+(s.inSync?'':'; sent to the gateway'),true)})
      .catch(function(err){msg(err.message,false);reload()})}
  var form=q('#shadow-form');
  if(form){form.addEventListener('submit',function(e){e.preventDefault();var shelf=form.elements.namedItem('shelf').value,rate=form.elements.namedItem('rate').value;
      if(rate===''){msg('enter a sample rate',false);return}var hz=Number(rate);
      patch(shelf?{shelves:(function(){var o={};o[shelf]={sampleRateHz:hz};return o})()}:{gateway:{sampleRateHz:hz}})});
    q('#shadow-tare').addEventListener('click',function(){var shelf=form.elements.namedItem('shelf').value,bin=form.elements.namedItem('bin').value;
      if(!shelf){msg('choose the shelf to tare',false);return}if(bin===''){msg('enter a bin',false);return}
      var desired=JSON.parse(q('#shadow-desired').textContent||'{}');var cur=((desired.shelves||{})[shelf]||{}).tare||{};
      var t={};t[bin]=(cur[bin]||0)+1;var o={};o[shelf]={tare:t};patch({shelves:o})});}
  function cell(tr,sel){return tr.querySelector(sel)}
  function onAlarm(a){if(gw&&a.gatewayId!==gw)return;var tr=document.getElementById('alarm-'+a.alarmId);
    var f=q('select[name=state]'),want=f?f.value:'open';
    if(!tr){if(a.state==='cleared'&&want==='open')return;var tb=q('#alarm-rows');if(!tb)return;var none=q('#no-alarms');if(none)none.remove();
      tr=document.createElement('tr');tr.id='alarm-'+a.alarmId;tr.setAttribute('data-testid','alarm');
      tr.innerHTML='<td><span class="pill" data-alarm-state></span></td><td></td><td><b></b><br><small data-alarm-message></small></td>'+(gw?'':'<td><a></a></td>')+'<td></td><td class="num" data-alarm-occurrences></td><td data-ack-cell></td>';
      var tds=tr.children;tds[1].className='sev-'+a.severity;tds[1].textContent=a.severity;tds[2].querySelector('b').textContent=a.kind.replace('_',' ');
      if(!gw){var l=tds[3].querySelector('a');l.href='/gateways/'+encodeURIComponent(a.gatewayId);l.textContent=a.gatewayId}
      tds[gw?3:4].textContent=bvTime(a.raisedAt);tb.prepend(tr);}
    tr.setAttribute('data-kind',a.kind);tr.setAttribute('data-state',a.state);tr.setAttribute('data-gateway',a.gatewayId);
    var p=cell(tr,'[data-alarm-state]');p.textContent=a.state;p.className='pill '+a.state;
    cell(tr,'[data-alarm-message]').textContent=a.message;cell(tr,'[data-alarm-occurrences]').textContent=String(a.occurrences);
    var ack=tr.lastElementChild;ack.innerHTML='';if(a.state==='active'){var b=document.createElement('button');b.type='button';b.textContent='Acknowledge';
      b.setAttribute('data-ack',a.alarmId);b.setAttribute('data-testid','ack-'+a.alarmId);ack.appendChild(b)}
    else if(a.acknowledgedBy){var s=document.createElement('small');s.className='none';s.textContent='ack by '+a.acknowledgedBy;ack.appendChild(s)}
    var n=q('#alarms-active');if(n)n.textContent=String(document.querySelectorAll('tr[data-state=active]').length);}
  function onGateway(m){if(!gw||m.gatewayId!==gw)return;var p=q('#gateway-online');if(p){p.textContent=m.online?'online':'offline';p.className='pill '+(m.online?'on':'off')}}
  var handlers={alarm:function(m){onAlarm(m.alarm)},shadow:function(m){if(gw&&m.gatewayId===gw)reload()},gateway:onGateway};
  var delay=500;
  function connect(){var proto=location.protocol==='https:'?'wss:':'ws:';var ws=new WebSocket(proto+'//'+location.host+'/api/v1/live');
    ws.onmessage=function(e){var m=JSON.parse(e.data);if(m.type==='hello'){delay=500;document.body.setAttribute('data-live','on');return}var h=handlers[m.type];if(h)h(m)};
    ws.onclose=function(){document.body.setAttribute('data-live','off');setTimeout(connect,delay);delay=Math.min(delay*2,10000)};}
  connect();
})();
`;

import { commandTargets } from '@bitv/shared/events';
import { clientFormatTime } from '../dashboard/time.js';

/** Actions the edge agent runs itself; the rest need a shelf (the same split the API enforces). */
const nodeActions = Object.entries(commandTargets)
  .filter(([, target]) => target === 'node')
  .map(([action]) => action);

/**
 * The fleet page's script: its command and claim-token forms. A command form is checked here
 * before anything is sent (a shelf command needs a shelf, a bin command a bin the shelf has), so
 * a person sees what is missing at once instead of a command that fails at the edge later. The
 * API checks the same again. Rows it adds to "Recent commands" match the server-rendered ones.
 * The "Cloud consumers" rows follow `/healthz` (read every 10 s): a consumer it names is down,
 * with the reason it gives; "down since" is the server's time, or when this page first saw it.
 */
export const fleetScript = `
(function(){
  ${clientFormatTime}
  var nodeActions=${JSON.stringify(nodeActions)};
  function v(f,n){var e=f.elements.namedItem(n);return e?String(e.value):''}
  function cmdText(c){var t=c.action;if(c.action==='set_led')t=c.blink==='off'?'light off':'light';
    if(c.action==='set_leds')t='lights '+c.leds.map(function(l){return l.bin+(l.blink==='off'?' off':' on')}).join(', ');
    if(c.bin!==undefined)t+=' bin '+c.bin;return t}
  function build(f){
    var choice=v(f,'action'),action=choice==='led_off'?'set_led':choice,sel=f.elements.namedItem('deviceId');
    var dev=sel.value,opt=sel.options[sel.selectedIndex];
    if(nodeActions.indexOf(action)>=0){if(dev)return action+' goes to the gateway itself: choose (gateway)';
      return {command:{action:action},ttlSeconds:60}}
    if(!dev)return 'choose a shelf: '+action+' is a shelf command';
    var cmd={action:action};
    if(action==='identify')cmd.seconds=10;
    if(action==='set_led'||action==='tare'){var raw=v(f,'bin').trim(),bins=Number(opt.getAttribute('data-bins'));
      if(raw==='')return 'enter a bin number (0 to '+(bins-1)+')';
      if(!/^[0-9]+$/.test(raw)||Number(raw)>=bins)return 'shelf '+dev+' has bins 0 to '+(bins-1);
      cmd.bin=Number(raw)}
    if(action==='set_led'){var on=choice==='set_led';cmd.color=on?'#facc15':'#000000';cmd.blink=on?'steady':'off'}
    return {command:cmd,deviceId:dev,ttlSeconds:60}}
  function show(tr,c){var p=tr.querySelector('.pill');p.textContent=c.status;p.className='pill '+c.status;
    if(c.status!=='sent')tr.querySelector('[data-finished]').textContent=bvTime(c.updatedAt);
    if(c.reason)tr.querySelector('[data-reason]').textContent=c.reason}
  function addRow(c){var list=document.getElementById('commands');var tr=document.createElement('tr');tr.id='cmd-'+c.id;
    tr.innerHTML='<td></td><td></td><td><span class="pill"></span></td><td class="num" style="white-space:nowrap" data-requested></td><td class="num" style="white-space:nowrap" data-finished></td><td data-reason></td>';
    tr.children[0].textContent=c.gatewayId;tr.children[1].textContent=cmdText(c.command)+(c.deviceId?' → '+c.deviceId:'');
    tr.querySelector('[data-requested]').textContent=bvTime(c.createdAt);show(tr,c);
    list.prepend(tr);var none=document.getElementById('no-commands');if(none)none.remove();
    // A result that came over the live channel before this row existed found nothing to update:
    // read the command once more now that the row is there (later results update it live).
    fetch('/api/v1/commands/'+encodeURIComponent(c.id),{credentials:'same-origin'}).then(function(r){return r.ok?r.json():null})
      .then(function(x){if(x&&x.status!=='sent')show(tr,x)}).catch(function(){/* the live channel still updates the row */})}
  document.querySelectorAll('form[data-command]').forEach(function(f){f.addEventListener('submit',function(ev){ev.preventDefault();
    var out=f.querySelector('[data-out]'),body=build(f);
    if(typeof body==='string'){out.textContent=body;out.className='error';return}
    out.textContent='sending…';out.className='none';
    window.bvPost('/api/v1/gateways/'+encodeURIComponent(f.getAttribute('data-command'))+'/commands',body).then(function(c){
      out.textContent='';if(!document.getElementById('cmd-'+c.id))addRow(c)})
    .catch(function(e){out.textContent=e.message;out.className='error'})})});
  var claim=document.getElementById('claim-form');if(claim)claim.addEventListener('submit',function(ev){ev.preventDefault();
    var out=document.getElementById('claim-out');out.textContent='creating…';
    window.bvPost('/api/v1/claim-tokens',{siteId:v(claim,'siteId'),count:Number(v(claim,'count')||1),ttlSeconds:Math.round(Number(v(claim,'hours')||24)*3600)})
      .then(function(r){out.textContent=r.tokens.map(function(t){return t.token+'  (expires '+bvTime(t.expiresAt)+' UTC)'}).join('\\n')})
      .catch(function(e){out.textContent=e.message})});
  function consumers(){fetch('/healthz',{credentials:'same-origin'}).then(function(r){return r.json()}).then(function(h){
    var c=h&&h.checks?h.checks.consumers:undefined;if(c===undefined)return;var down=c==='running'?{}:c,n=0;
    document.querySelectorAll('tr[data-consumer]').forEach(function(tr){var d=down[tr.getAttribute('data-consumer')];
      var p=tr.querySelector('[data-consumer-state]'),since=tr.querySelector('[data-consumer-since]');
      if(d===undefined){p.textContent='up';p.className='pill on';since.textContent='';tr.querySelector('[data-consumer-reason]').textContent='';return}
      n++;var i=String(d).indexOf(': '),state=i<0?String(d):String(d).slice(0,i);
      p.textContent=state==='restarting'?'down':state;p.className='pill '+(state==='restarting'?'failed':'off');
      if(!since.textContent)since.textContent=bvTime(new Date().toISOString());
      tr.querySelector('[data-consumer-reason]').textContent=i<0?'':String(d).slice(i+2)});
    var sum=document.querySelector('[data-consumers-summary]');if(sum)sum.textContent=n===0?'All consuming: stock is counted as readings arrive.':
      n+' not consuming: stock is not counted until they are back.'})
    .catch(function(){/* the cloud is unreachable: the next round tries again */})}
  if(document.querySelector('tr[data-consumer]'))setInterval(consumers,10000);
})();
`;

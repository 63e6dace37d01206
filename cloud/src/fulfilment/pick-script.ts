/**
 * The pick station's client script: follows the live WebSocket and updates the current pick's
 * lines, progress and mis-pick alerts as `pick` messages come; a new pick starting reloads the
 * page (it brings a new list). No build step, like the dashboard's other scripts.
 */
export const pickScript = `
(function(){
  var root=document.body, site=root.getAttribute('data-site'), liveEl=document.getElementById('live');
  var station=document.getElementById('pick-station'); if(!station)return;
  var current=station.getAttribute('data-pick-id');
  function setLive(on){if(liveEl){liveEl.classList.toggle('on',on);liveEl.querySelector('span:last-child').textContent=on?'live':'reconnecting';}}
  function onPick(m){
    // Another pick in progress than the page shows: reload for its list. Not only on 'started':
    // a page (re)loaded between a list's creation and its start renders no pick and connects
    // after 'started' went out, and would otherwise ignore every later message of that pick.
    if(m.pickId!==current){if(m.change==='started'||m.status==='picking'||(!current&&m.change==='created'))location.reload();return}
    var st=document.getElementById('pick-status');if(st){st.textContent=m.status;st.className='pill pick-'+m.status}
    var done=0;
    m.lines.forEach(function(l){var row=document.getElementById('line-'+l.lineId);if(!row)return;
      row.setAttribute('data-status',l.status);row.className='line '+l.status;
      row.querySelector('[data-taken]').textContent=String(l.taken);
      var p=row.querySelector('[data-line-status]');p.textContent=l.status;p.className='pill line-'+l.status;
      if(l.status!=='open')done++;});
    var n=document.getElementById('lines-done');if(n)n.textContent=String(done);
    var list=document.getElementById('mis-picks');if(list){list.innerHTML='';
      m.misPicks.forEach(function(x){var li=document.createElement('li');li.className='alert mis-pick';li.setAttribute('data-testid','mis-pick');
        li.textContent=x.taken+' unit(s) taken from the wrong bin: put them back';var s=document.createElement('small');s.textContent=x.shelfId+' · bin '+x.bin;li.appendChild(s);list.appendChild(li)});
      var none=document.getElementById('no-mis-picks');if(none)none.hidden=m.misPicks.length>0;}
  }
  var delay=500;
  function connect(){var proto=location.protocol==='https:'?'wss:':'ws:';
    var ws=new WebSocket(proto+'//'+location.host+'/api/v1/live'+(site?'?site='+encodeURIComponent(site):''));
    ws.onmessage=function(e){var m=JSON.parse(e.data);if(m.type==='hello'){delay=500;setLive(true);return}if(m.type==='pick')onPick(m)};
    ws.onclose=function(){setLive(false);setTimeout(connect,delay);delay=Math.min(delay*2,10000)};}
  connect();
})();
`;

/** The station's own styles, added to the dashboard's stylesheet classes (same palette). */
export const pickCss = `
.line.confirmed{background:#e9f9ef}.line.short{background:#fef2f2}.line.open td:first-child{border-left:3px solid var(--lit)}
.pill.line-open{background:#fef9c3;color:#854d0e}.pill.line-confirmed{background:#dcfce7;color:#166534}.pill.line-short{background:#fee2e2;color:#991b1b}
.pill.pick-picking{background:#e0e7ff;color:#3730a3}.pill.pick-picked{background:#dcfce7;color:#166534}.pill.pick-short{background:#fee2e2;color:#991b1b}.pill.pick-open,.pill.pick-cancelled{background:#f3f4f6;color:#4b5563}
.alerts li.mis-pick{border-left-color:var(--bad);background:#fef2f2}
`;

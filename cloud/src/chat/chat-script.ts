/**
 * The chat page's client script: joins the page's room over `/api/v1/chat` (resuming from the
 * last sequence it saw after a reconnect), shows messages in clock (HLC) order with edits and
 * deletes applied, members with presence dots, who is typing, and sends with a client id so a
 * resend after a reconnect shows once. No build step, like the dashboard's other scripts.
 */
export const chatScript = `
(function(){
  var root=document.getElementById('chat');if(!root)return;
  var room=root.getAttribute('data-room');if(!room)return;
  var me=root.getAttribute('data-user');
  var list=document.getElementById('chat-messages'),typingEl=document.getElementById('chat-typing');
  var membersEl=document.getElementById('chat-members'),liveEl=document.getElementById('chat-live');
  var form=document.getElementById('chat-composer'),input=document.getElementById('chat-input');
  var events={},last=0,members={},typing={},ws=null,delay=500,unsent=[],lastTyping=0;
  function setLive(on){liveEl.className='pill '+(on?'on':'off');liveEl.textContent=on?'live':'reconnecting'}
  function render(){
    var all=Object.keys(events).map(function(k){return events[k]}).sort(function(a,b){return a.hlc<b.hlc?-1:a.hlc>b.hlc?1:a.eventId<b.eventId?-1:1});
    var msgs=[],byId={};
    all.forEach(function(e){
      if(e.kind==='message'){var m={id:e.eventId,author:e.author,body:e.body,at:e.at,edited:false,deleted:false,mentions:e.mentions};byId[m.id]=m;msgs.push(m);return}
      var t=byId[e.messageId];if(!t||t.deleted)return;
      if(e.kind==='delete'){t.deleted=true;t.body=''}else{t.body=e.body;t.edited=true}
    });
    list.textContent='';
    msgs.forEach(function(m){var li=document.createElement('li');li.setAttribute('data-message',m.id);
      if(m.mentions&&m.mentions.indexOf(me)>=0)li.className='mention';
      var who=document.createElement('b');who.textContent=m.author===me?'me':m.author;
      var at=document.createElement('time');at.textContent=m.at.slice(11,19);
      var body=document.createElement('span');body.className='body';body.textContent=m.deleted?'(deleted)':m.body+(m.edited?' (edited)':'');
      li.appendChild(at);li.appendChild(who);li.appendChild(body);list.appendChild(li)});
    list.scrollTop=list.scrollHeight;
  }
  function renderMembers(){membersEl.textContent='';Object.keys(members).sort().forEach(function(u){
    var li=document.createElement('li');li.setAttribute('data-member',u);li.setAttribute('data-status',members[u]);
    var dot=document.createElement('span');dot.className='dot '+members[u];li.appendChild(dot);
    li.appendChild(document.createTextNode(' '+(u===me?u+' (me)':u)));membersEl.appendChild(li)})}
  function renderTyping(){var now=Date.now(),who=Object.keys(typing).filter(function(u){return typing[u]>now});
    typingEl.textContent=who.length?who.join(', ')+(who.length>1?' are':' is')+' typing…':''}
  setInterval(renderTyping,1000);
  function add(e){if(events[e.eventId])return;events[e.eventId]=e;if(e.seq>last)last=e.seq}
  function send(f){if(ws&&ws.readyState===1)ws.send(JSON.stringify(f));else unsent.push(f)}
  function connect(){var proto=location.protocol==='https:'?'wss:':'ws:';
    ws=new WebSocket(proto+'//'+location.host+'/api/v1/chat');
    ws.onopen=function(){delay=500;ws.send(JSON.stringify(last>0?{type:'join',room:room,since:last}:{type:'join',room:room}));
      while(unsent.length)ws.send(JSON.stringify(unsent.shift()))};
    ws.onmessage=function(ev){var m=JSON.parse(ev.data);
      if(m.type==='hello'){setLive(true);return}
      if(m.room!==undefined&&m.room!==room&&m.type!=='mention')return;
      if(m.type==='history'){m.events.forEach(add);render();if(last>0)send({type:'read',room:room,seq:last});return}
      if(m.type==='event'){add(m.event);delete typing[m.event.author];render();renderTyping();send({type:'read',room:room,seq:last});return}
      if(m.type==='presence'){m.members.forEach(function(p){members[p.user]=p.status});renderMembers();return}
      if(m.type==='typing'){typing[m.user]=Date.now()+4000;renderTyping();return}
    };
    // A closed socket (an expired token: 4001) reconnects; loading the page renews the cookie first.
    ws.onclose=function(){setLive(false);setTimeout(function(){fetch(location.href,{credentials:'same-origin'}).finally(connect)},delay);delay=Math.min(delay*2,10000)};
  }
  setInterval(function(){send({type:'presence',status:document.hidden?'away':'online'})},10000);
  form.addEventListener('submit',function(e){e.preventDefault();var body=input.value.trim();if(!body)return;
    send({type:'send',room:room,clientId:'c'+Date.now().toString(36)+Math.random().toString(36).slice(2,8),body:body});input.value=''});
  input.addEventListener('input',function(){var now=Date.now();if(now-lastTyping>2000){lastTyping=now;send({type:'typing',room:room})}});
  connect();
})();
`;

/** The chat page's layout, in the dashboard's palette. */
export const chatCss = `
.chat-grid{display:grid;grid-template-columns:200px 1fr 180px;gap:16px;align-items:start}
.chat-rooms a{display:block;padding:4px 8px;border-radius:6px;text-decoration:none}.chat-rooms a.active{background:#e0e7ff}
.chat-messages{list-style:none;margin:0;padding:8px;height:420px;overflow-y:auto;border:1px solid #e5e7eb;border-radius:8px}
.chat-messages li{padding:3px 0}.chat-messages li.mention{background:#fef9c3}.chat-messages time{color:var(--muted);font-size:12px;margin-right:8px}
.chat-messages b{margin-right:8px}.chat-typing{min-height:1.4em;margin:4px 0}#chat-input{flex:1;min-width:300px}
.chat-members ul{list-style:none;padding:0}.dot{display:inline-block;width:9px;height:9px;border-radius:50%;background:#9ca3af}
.dot.online{background:#16a34a}.dot.away{background:#f59e0b}.dot.offline{background:#9ca3af}
`;

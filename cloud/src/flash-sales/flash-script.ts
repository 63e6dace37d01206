/**
 * The flash-sale page's client script: each sale card follows its public SSE stream and shows
 * the countdown (ticking locally between events) and the remaining quantity; staff create sales
 * and anyone logged in buys through the JSON API. No build step, like the dashboard's other scripts.
 */
export const flashScript = `
(function(){
  var root=document.getElementById('flash-sales');if(!root)return;
  var errEl=document.getElementById('flash-error');
  function showError(e){if(errEl)errEl.textContent=e?String(e.message||e):''}
  function api(method,path,body){return fetch(path,{method:method,headers:{'content-type':'application/json'},body:body===undefined?undefined:JSON.stringify(body)}).then(function(r){return r.json().then(function(j){if(!r.ok)throw new Error((j&&j.error&&j.error.message)||('HTTP '+r.status));return j})})}
  function fmt(s){s=Math.max(0,Math.round(s));var h=Math.floor(s/3600),m=Math.floor(s/60)%60,x=s%60;return (h?h+'h ':'')+(m<10&&h?'0':'')+m+'m '+(x<10?'0':'')+x+'s'}
  function watch(card){var id=card.getAttribute('data-sale'),deadline=0,phase='';
    var cd=card.querySelector('[data-countdown]'),rem=card.querySelector('[data-remaining]'),ph=card.querySelector('[data-phase]'),av=card.querySelector('[data-available]'),live=card.querySelector('[data-live]');
    function render(){if(phase==='upcoming'||phase==='live'||phase==='sold_out')cd.textContent=(phase==='upcoming'?'starts in ':'ends in ')+fmt((deadline-Date.now())/1000);else cd.textContent='ended'}
    setInterval(render,1000);
    var es=new EventSource('/api/v1/flash-sales/'+encodeURIComponent(id)+'/stream');
    es.onopen=function(){live.className='pill on';live.textContent='live'};
    es.onerror=function(){live.className='pill off';live.textContent='reconnecting'};
    es.addEventListener('state',function(e){var s=JSON.parse(e.data);phase=s.phase;deadline=Date.now()+s.secondsLeft*1000;
      rem.textContent=String(s.remaining);av.textContent=String(s.available);ph.textContent=s.phase.replace('_',' ');ph.className='pill phase-'+s.phase;
      card.setAttribute('data-phase',s.phase);card.setAttribute('data-remaining',String(s.remaining));render()});
    var buy=card.querySelector('[data-buy]');if(buy)buy.addEventListener('click',function(){
      api('POST','/api/v1/flash-sales/'+encodeURIComponent(id)+'/buy',{quantity:1}).then(function(r){
        card.querySelector('[data-bought]').textContent='Order '+r.orderId+' '+r.status;showError()},showError)})}
  Array.prototype.forEach.call(root.querySelectorAll('[data-sale]'),watch);
  var form=document.getElementById('flash-create');if(form)form.addEventListener('submit',function(ev){ev.preventDefault();
    var start=new Date(Date.now()+Number(form.startIn.value)*1000),end=new Date(start.getTime()+Number(form.minutes.value)*60000);
    var body={sku:form.sku.value.trim(),siteId:form.siteId.value.trim(),startsAt:start.toISOString(),endsAt:end.toISOString(),quantity:Number(form.quantity.value),perCustomerLimit:Number(form.limit.value)};
    if(form.title.value.trim())body.title=form.title.value.trim();
    api('POST','/api/v1/flash-sales',body).then(function(){location.reload()},showError)});
})();
`;

/**
 * The feed page's client script: posts, follows, likes, comments, reports and hiding through the
 * JSON API (the session cookie authenticates), and the home feed live over EventSource, which
 * reconnects by itself and sends the last `id:` it saw as `Last-Event-ID`, so nothing is missed.
 * No build step, like the dashboard's other scripts.
 */
export const feedScript = `
(function(){
  var root=document.getElementById('feed');if(!root)return;
  var list=document.getElementById('feed-items'),liveEl=document.getElementById('feed-live'),errEl=document.getElementById('feed-error');
  var moderator=root.getAttribute('data-moderator')==='true';
  function api(method,path,body){return fetch(path,{method:method,headers:{'content-type':'application/json'},body:body===undefined?undefined:JSON.stringify(body)}).then(function(r){return r.json().then(function(j){if(!r.ok)throw new Error((j&&j.error&&j.error.message)||('HTTP '+r.status));return j})})}
  function showError(e){if(errEl)errEl.textContent=e?String(e.message||e):''}
  function el(tag,attrs,text){var e=document.createElement(tag);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;return e}
  function button(action,label,count,attr){var b=el('button',{type:'button','data-action':action});b.appendChild(document.createTextNode(label+' '));if(count!==undefined)b.appendChild(el('span',attr,String(count)));return b}
  function card(item){var p=item.post;
    var a=el('article',{'class':'card post','data-post':p.id,'data-seq':String(item.seq),'data-testid':'feed-post'});
    a.appendChild(el('div',{'class':'meta'},p.authorId+' · '+p.createdAt.slice(0,19).replace('T',' ')+(p.fannedOut?'':' · merged on read')));
    a.appendChild(el('p',{'class':'body','data-body':''},p.body));
    if(p.mentions.length){var m=el('div',{});p.mentions.forEach(function(x){m.appendChild(el('span',{'class':'mention pill',title:x.name},'#'+x.sku+' '+x.name))});a.appendChild(m)}
    if(p.images.length){var g=el('div',{});p.images.forEach(function(src){g.appendChild(el('img',{src:src,alt:'',loading:'lazy',referrerpolicy:'no-referrer'}))});a.appendChild(g)}
    var acts=el('div',{'class':'actions'});
    var like=button('like','Like',p.likes,{'data-likes':''});like.setAttribute('data-testid','like');acts.appendChild(like);
    acts.appendChild(button('comments','Comments',p.comments,{'data-comments':''}));
    var f=button('follow','Follow author');f.setAttribute('data-testid','follow-author');acts.appendChild(f);
    acts.appendChild(button('report','Report'));
    if(moderator){var h=button('hide','Hide');h.setAttribute('data-hidden','false');h.setAttribute('data-testid','hide');acts.appendChild(h)}
    a.appendChild(acts);a.appendChild(el('ul',{'class':'comments','data-comment-list':''}));
    var form=el('form',{'class':'inline','data-comment-form':''});form.appendChild(el('input',{name:'body',placeholder:'Comment',maxlength:'1000',required:''}));form.appendChild(el('button',{type:'submit'},'Comment'));a.appendChild(form);
    return a}
  function add(item){if(list.querySelector('article[data-post="'+item.post.id+'"]'))return;var empty=document.getElementById('feed-empty');if(empty)empty.remove();list.insertBefore(card(item),list.firstChild)}
  document.getElementById('feed-compose').addEventListener('submit',function(ev){ev.preventDefault();var f=ev.target;
    var images=f.images.value.split(',').map(function(s){return s.trim()}).filter(Boolean);
    api('POST','/api/v1/feed/posts',{body:f.body.value,images:images}).then(function(){f.reset();showError()},showError)});
  document.getElementById('feed-follow').addEventListener('submit',function(ev){ev.preventDefault();var f=ev.target;
    api('PUT','/api/v1/feed/follows/'+f.kind.value+'/'+encodeURIComponent(f.target.value.trim())).then(function(r){
      document.getElementById('feed-follows').appendChild(el('li',{},r.kind+' '+r.target));f.reset();showError()},showError)});
  root.addEventListener('click',function(ev){var b=ev.target.closest&&ev.target.closest('button[data-action]');if(!b)return;
    var a=b.closest('article[data-post]');if(!a)return;var id=a.getAttribute('data-post'),act=b.getAttribute('data-action');
    if(act==='like'){var liked=b.getAttribute('data-liked')==='true';api(liked?'DELETE':'PUT','/api/v1/feed/posts/'+id+'/like').then(function(r){b.setAttribute('data-liked',String(!liked));b.querySelector('[data-likes]').textContent=String(r.likes)},showError)}
    else if(act==='comments'){api('GET','/api/v1/feed/posts/'+id).then(function(r){var ul=a.querySelector('[data-comment-list]');ul.textContent='';r.comments.forEach(function(c){ul.appendChild(el('li',{},c.authorId+': '+c.body))})},showError)}
    else if(act==='follow'){var author=a.querySelector('.meta').textContent.split(' ')[0];api('PUT','/api/v1/feed/follows/user/'+encodeURIComponent(author)).then(function(){b.textContent='Following'},showError)}
    else if(act==='report'){api('POST','/api/v1/feed/posts/'+id+'/report',{reason:'reported from the feed page'}).then(function(){b.textContent='Reported'},showError)}
    else if(act==='hide'){var hidden=b.getAttribute('data-hidden')==='true';api('POST','/api/v1/feed/posts/'+id+'/hide',{hidden:!hidden}).then(function(r){b.setAttribute('data-hidden',String(r.hidden));b.textContent=r.hidden?'Show':'Hide';a.classList.toggle('hidden',r.hidden)},showError)}});
  root.addEventListener('submit',function(ev){var f=ev.target;if(!f.hasAttribute('data-comment-form'))return;ev.preventDefault();
    var a=f.closest('article[data-post]'),id=a.getAttribute('data-post');
    api('POST','/api/v1/feed/posts/'+id+'/comments',{body:f.body.value}).then(function(c){a.querySelector('[data-comment-list]').appendChild(el('li',{},c.authorId+': '+c.body));
      var n=a.querySelector('[data-comments]');n.textContent=String(Number(n.textContent)+1);f.reset()},showError)});
  function setLive(on){liveEl.className='pill '+(on?'on':'off');liveEl.textContent=on?'live':'reconnecting'}
  var es=new EventSource('/api/v1/feed/stream?after='+root.getAttribute('data-last-seq'));
  es.onopen=function(){setLive(true)};es.onerror=function(){setLive(false)};
  es.addEventListener('post',function(e){add(JSON.parse(e.data))});
})();
`;

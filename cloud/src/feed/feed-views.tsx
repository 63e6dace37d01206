import type { FeedItem, PostView } from './post.js';

export const feedCss = `
.feed .compose textarea{width:100%;box-sizing:border-box;font:inherit;font-size:14px;padding:8px 10px;border:1px solid var(--line);border-radius:7px;min-height:70px}
.feed .compose input{width:100%;box-sizing:border-box}
.feed .cols{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:16px}
.feed article.post{margin:10px 0}.feed article.post .meta{color:var(--muted);font-size:12px}
.feed article.post p.body{white-space:pre-wrap;margin:6px 0}
.feed article.post img{max-width:160px;max-height:120px;border-radius:6px;margin-right:6px}
.feed article.post .actions{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin-top:6px}
.feed article.post.hidden{opacity:.5}.feed .mention{font-family:ui-monospace,monospace;font-size:12px}
.feed ul.comments{margin:6px 0 0 0;padding-left:18px;font-size:13px}
`;

/** One post as the feed page shows it; the page's script builds the same markup for live ones. */
export function PostCard(props: { post: PostView; seq?: number; moderator: boolean }) {
  const { post, seq, moderator } = props;
  return (
    <article
      class={`card post${post.hidden ? ' hidden' : ''}`}
      data-post={post.id}
      data-seq={seq === undefined ? '' : String(seq)}
      data-testid="feed-post"
    >
      <div class="meta">
        <span data-author>{post.authorId}</span> · {post.createdAt.slice(0, 19).replace('T', ' ')}
        {post.fannedOut ? '' : ' · merged on read'}
        {post.reports > 0 ? ` · ${post.reports} report(s)` : ''}
      </div>
      <p class="body" data-body>
        {post.body}
      </p>
      {post.mentions.length > 0 ? (
        <div>
          {post.mentions.map((m) => (
            <span class="mention pill" title={m.name}>
              #{m.sku} {m.name}
            </span>
          ))}
        </div>
      ) : null}
      {post.images.length > 0 ? (
        <div>
          {post.images.map((src) => (
            <img src={src} alt="" loading="lazy" referrerpolicy="no-referrer" />
          ))}
        </div>
      ) : null}
      <div class="actions">
        <button type="button" data-action="like" data-testid="like">
          Like <span data-likes>{String(post.likes)}</span>
        </button>
        <button type="button" data-action="comments">
          Comments <span data-comments>{String(post.comments)}</span>
        </button>
        <button type="button" data-action="follow" data-testid="follow-author">
          Follow author
        </button>
        <button type="button" data-action="report">
          Report
        </button>
        {moderator ? (
          <button type="button" data-action="hide" data-hidden={String(post.hidden)} data-testid="hide">
            {post.hidden ? 'Show' : 'Hide'}
          </button>
        ) : null}
      </div>
      <ul class="comments" data-comment-list></ul>
      <form class="inline" data-comment-form>
        <input name="body" placeholder="Comment" maxlength={1000} required />
        <button type="submit">Comment</button>
      </form>
    </article>
  );
}

export interface FeedPageData {
  me: string;
  items: FeedItem[];
  lastSeq: number;
  follows: { kind: 'user' | 'product'; target: string }[];
  reported: PostView[];
  moderator: boolean;
}

export function FeedPage(props: { data: FeedPageData }) {
  const { me, items, lastSeq, follows, reported, moderator } = props.data;
  return (
    <div
      class="feed"
      id="feed"
      data-last-seq={String(lastSeq)}
      data-me={me}
      data-moderator={String(moderator)}
    >
      <h1>
        Feed{' '}
        <span id="feed-live" class="pill off" data-testid="feed-live">
          connecting
        </span>
      </h1>
      <div class="cols">
        <div>
          <form class="card compose" id="feed-compose" data-testid="feed-compose">
            <textarea
              name="body"
              maxlength={2000}
              required
              placeholder="What's new? Name products with #SKU"
            />
            <input name="images" placeholder="Image URLs (https://…), comma separated" />
            <div class="actions">
              <button type="submit" data-testid="feed-post-submit">
                Post
              </button>
              <span class="error" id="feed-error" data-testid="feed-error"></span>
            </div>
          </form>
          <div id="feed-items" data-testid="feed-items">
            {items.map((i) => (
              <PostCard post={i.post} seq={i.seq} moderator={moderator} />
            ))}
          </div>
          {items.length === 0 ? (
            <p class="none" id="feed-empty">
              Nothing yet: follow people or products, or write the first post.
            </p>
          ) : null}
        </div>
        <div>
          <div class="card">
            <h2>Follow</h2>
            <form class="inline" id="feed-follow" data-testid="feed-follow">
              <select name="kind">
                <option value="product">Product (SKU)</option>
                <option value="user">User id</option>
              </select>
              <input name="target" required maxlength={128} placeholder="SKU or user id" />
              <button type="submit">Follow</button>
            </form>
            <p class="sub">
              You are <code>{me}</code>.
            </p>
            <ul id="feed-follows" data-testid="feed-follows">
              {follows.map((f) => (
                <li>
                  {f.kind} <code>{f.target}</code>
                </li>
              ))}
            </ul>
          </div>
          {moderator ? (
            <div class="card" data-testid="feed-reported">
              <h2>Reported</h2>
              {reported.length === 0 ? <p class="none">No reports.</p> : null}
              {reported.map((p) => (
                <PostCard post={p} moderator={true} />
              ))}
            </div>
          ) : null}
        </div>
      </div>
    </div>
  );
}

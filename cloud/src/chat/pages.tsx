import { Hono } from 'hono';
import type { DashboardKit } from '../dashboard/kit.js';
import { staffRoles } from '../dashboard/kit.js';
import type { NavEntry } from '../module.js';
import { chatCss, chatScript } from './chat-script.js';
import { type FindOrder, mayEnter, parseRoomId } from './rooms.js';
import { visibleRooms } from './routes.js';
import type { ChatService } from './service.js';

export const chatNav: NavEntry = {
  id: 'chat',
  href: '/chat',
  label: 'Chat',
  roles: [...staffRoles],
  order: 27,
  testId: 'nav-chat',
};

const assetHeaders = { 'cache-control': 'max-age=300' };

function roomLabel(roomId: string): string {
  const room = parseRoomId(roomId);
  if (!room) return roomId;
  if (room.kind === 'site') return `# ${room.siteId}`;
  if (room.kind === 'order') return `order ${room.orderId}`;
  return `@ ${room.members.join(' & ')}`;
}

/**
 * The chat page for staff and operators: their rooms on the left, the chosen room's messages (in
 * clock order), its members with presence dots, who is typing, and a composer. Everything after
 * the first paint comes over `/api/v1/chat` (the page's script, `chat-script.ts`).
 */
export function chatPages(deps: {
  kit: DashboardKit;
  service: ChatService;
  findOrder(): FindOrder | undefined;
}): Hono {
  const { kit, service } = deps;
  const app = new Hono();
  app.get('/assets/chat.js', (c) =>
    c.body(chatScript, 200, { ...assetHeaders, 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/assets/chat.css', (c) =>
    c.body(chatCss, 200, { ...assetHeaders, 'content-type': 'text/css; charset=utf-8' }),
  );
  app.get('/chat', async (c) => {
    const user = await kit.userOf(c);
    if (!user) return kit.toLogin(c);
    if (!staffRoles.has(user.role)) return kit.forbidden(c);
    const rooms = await visibleRooms(service, user, deps.findOrder());
    const asked = c.req.query('room');
    const askedRoom = asked ? parseRoomId(asked) : undefined;
    const current =
      asked && askedRoom && (await mayEnter(user, askedRoom, deps.findOrder())) ? asked : rooms[0]?.roomId;
    if (current && !rooms.some((r) => r.roomId === current)) rooms.unshift({ roomId: current, seq: 0 });
    return kit.page(
      c,
      { title: 'Chat', active: 'chat', user, scripts: ['/assets/chat.js'] },
      <>
        <link rel="stylesheet" href="/assets/chat.css" />
        <div class="chat" id="chat" data-room={current ?? ''} data-user={user.id}>
          <h1>
            Chat{' '}
            <span class="pill off" id="chat-live" data-testid="chat-live">
              connecting
            </span>
          </h1>
          <div class="chat-grid">
            <nav class="chat-rooms" data-testid="chat-rooms">
              {rooms.map((r) => (
                <a
                  href={`/chat?room=${encodeURIComponent(r.roomId)}`}
                  class={r.roomId === current ? 'active' : ''}
                  data-room-link={r.roomId}
                >
                  {roomLabel(r.roomId)}
                </a>
              ))}
              <form method="get" action="/chat" class="inline">
                <input name="room" placeholder="site:… or dm:a,b" data-testid="chat-open-room" />
              </form>
            </nav>
            {current ? (
              <section class="chat-room">
                <h2 data-testid="chat-room-title">{roomLabel(current)}</h2>
                <ol class="chat-messages" id="chat-messages" data-testid="chat-messages" />
                <p class="chat-typing muted" id="chat-typing" data-testid="chat-typing" />
                <form id="chat-composer" class="inline" data-testid="chat-composer">
                  <input
                    id="chat-input"
                    name="body"
                    maxlength={4000}
                    autocomplete="off"
                    placeholder="Message (@user to mention)"
                    data-testid="chat-input"
                  />
                  <button type="submit" data-testid="chat-send">
                    Send
                  </button>
                </form>
              </section>
            ) : (
              <p class="muted">No rooms yet: you have no sites.</p>
            )}
            <aside class="chat-members">
              <h3>Members</h3>
              <ul id="chat-members" data-testid="chat-members" />
            </aside>
          </div>
        </div>
      </>,
    );
  });
  return app;
}

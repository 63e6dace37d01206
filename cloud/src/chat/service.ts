import type { ChatRoomEvent } from '@bitv/shared/events';
import type { RoomFeeds } from './feeds.js';
import type { ChatStore, WriteInput, WriteResult } from './store.js';

/**
 * Writes and replicas, each announced to every instance's feeds after its commit. A crash between
 * the commit and the announcement loses only the announcement: the feeds' sync reads the event.
 */
export class ChatService {
  constructor(
    readonly store: ChatStore,
    private readonly feeds: RoomFeeds,
    private readonly onWritten: (result: WriteResult) => void = () => undefined,
  ) {}

  async write(input: WriteInput): Promise<WriteResult> {
    const result = await this.store.write(input);
    this.onWritten(result);
    if (!result.duplicate) await this.feeds.published(result.event);
    return result;
  }

  /** Applies another site's event (from the event log); this site's own are skipped. */
  async replica(event: ChatRoomEvent): Promise<WriteResult | undefined> {
    if (event.origin === this.store.site) return undefined;
    const result = await this.store.apply(event);
    if (!result.duplicate) await this.feeds.published(result.event);
    return result;
  }
}

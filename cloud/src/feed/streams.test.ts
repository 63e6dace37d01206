import { silentLogger } from '@bitv/shared/log';
import { createRegistry } from '@bitv/shared/metrics';
import { describe, expect, it } from 'vitest';
import type { FeedItem, PostView } from './post.js';
import { FeedStreams, feedStreamDefaults } from './streams.js';

const post = (id: string): PostView => ({
  id,
  authorId: 'celebrity',
  body: `post ${id}`,
  images: [],
  mentions: [],
  likes: 0,
  comments: 0,
  reports: 0,
  hidden: false,
  fannedOut: false,
  createdAt: new Date(0).toISOString(),
});

/** A feed in memory whose start (the merge) waits until the test lets it go. */
function source() {
  const feed: FeedItem[] = [];
  const starts: { userId: string; online: string[]; release: () => void }[] = [];
  let streams: FeedStreams | undefined;
  return {
    feed,
    starts,
    bind: (s: FeedStreams) => {
      streams = s;
    },
    itemsAfter: async (_userId: string, afterSeq: number, limit: number) =>
      feed.filter((i) => i.seq > afterSeq).slice(0, limit),
    streamStart: (userId: string) =>
      new Promise<number>((resolve) => {
        const last = feed.at(-1)?.seq ?? 0;
        starts.push({ userId, online: streams?.onlineUsers() ?? [], release: () => resolve(last) });
      }),
  };
}

async function read(stream: ReadableStream<Uint8Array>, n: number): Promise<number[]> {
  const reader = stream.getReader();
  const ids: number[] = [];
  let text = '';
  while (ids.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    ids.splice(0, ids.length, ...[...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])));
  }
  reader.releaseLock();
  return ids;
}

describe('feed streams', () => {
  it('a resumed stream is registered before its start merges, and reads everything after its id', async () => {
    const src = source();
    const streams = new FeedStreams(src, feedStreamDefaults, createRegistry(), silentLogger);
    src.bind(streams);
    src.feed.push({ seq: 1, post: post('1') }, { seq: 2, post: post('2') });
    const stream = streams.open('reader', 1);
    // The merge runs with the reader already online: a merged post's message written meanwhile
    // finds the stream and wakes it.
    expect(src.starts).toEqual([expect.objectContaining({ userId: 'reader', online: ['reader'] })]);
    src.feed.push({ seq: 3, post: post('3') });
    streams.wake('reader');
    src.starts[0]?.release();
    expect(await read(stream, 2)).toEqual([2, 3]);
    streams.close();
  });

  it('a fresh stream starts at the last sequence before the merge, so merged posts follow', async () => {
    const src = source();
    const streams = new FeedStreams(src, feedStreamDefaults, createRegistry(), silentLogger);
    src.bind(streams);
    src.feed.push({ seq: 1, post: post('1') });
    const stream = streams.open('reader', undefined);
    expect(src.starts[0]?.online).toEqual(['reader']);
    // What the start merged (seq 2) and a delivery during the start (seq 3) both follow.
    src.feed.push({ seq: 2, post: post('2') });
    src.feed.push({ seq: 3, post: post('3') });
    streams.deliver('reader', 3, post('3'));
    src.starts[0]?.release();
    expect(await read(stream, 2)).toEqual([2, 3]);
    streams.close();
  });
});

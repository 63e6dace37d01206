import { z } from 'zod';

/** A product a post names with `#SKU`, as the catalog knew it when the post was written. */
export interface Mention {
  sku: string;
  name: string;
}

export interface PostView {
  id: string;
  authorId: string;
  body: string;
  images: string[];
  mentions: Mention[];
  likes: number;
  comments: number;
  reports: number;
  hidden: boolean;
  /** Whether the post was copied into its audience's feeds when written (else merged on read). */
  fannedOut: boolean;
  createdAt: string;
}

/** One entry of a reader's home feed: `seq` is the reader's own sequence (the SSE event id). */
export interface FeedItem {
  seq: number;
  post: PostView;
}

export interface CommentView {
  id: string;
  postId: string;
  authorId: string;
  body: string;
  createdAt: string;
}

export const maxPostChars = 2_000;
export const maxImages = 4;
export const maxMentions = 10;

/** `#SKU` in a post's text (the catalog's SKU alphabet); a `#` inside a word is not a mention. */
const mentionPattern = /(?:^|[^\w#])#([A-Za-z0-9][A-Za-z0-9._-]{0,63})/g;

export function mentionedSkus(text: string): string[] {
  const skus = new Set<string>();
  for (const m of text.matchAll(mentionPattern)) {
    // A trailing dot is the sentence's, not the SKU's ("see #BOLT-10.").
    skus.add((m[1] as string).replace(/[._-]+$/, ''));
  }
  return [...skus].slice(0, maxMentions);
}

/**
 * Image URLs a browser will load from someone else's post: http(s) only, no credentials in the
 * URL, no loopback or private-looking hosts by name, at most 2,048 characters.
 */
export const imageUrl = z
  .string()
  .max(2_048)
  .url()
  .refine((value) => {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
    if (url.username || url.password) return false;
    return url.hostname !== 'localhost' && !url.hostname.endsWith('.local');
  }, 'image URLs must be http(s) without credentials, on a public host');

export const newPost = z
  .object({
    body: z.string().trim().min(1).max(maxPostChars),
    images: z.array(imageUrl).max(maxImages).default([]),
  })
  .strict();
export type NewPost = z.infer<typeof newPost>;

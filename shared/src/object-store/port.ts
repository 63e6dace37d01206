/**
 * Object store port (firmware images and manifests): a folder by default, any S3-compatible store
 * when configured. Keys are `/`-separated paths of [A-Za-z0-9._-] segments; see `checkKey`.
 */
export interface ObjectStore {
  readonly kind: 'folder' | 's3';
  /** Writes the whole object; readers see the old bytes or the new ones, never a mix. */
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<ObjectInfo>;
  /**
   * The object's bytes, or `range` of them (resumable downloads). A range starting at the
   * object's size yields no bytes; one starting past it is a `ValidationError`. A missing key is
   * a `NotFoundError`.
   */
  get(key: string, range?: ByteRange): Promise<Uint8Array>;
  /** Size and time of the object, or undefined when there is none. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix?: string): Promise<ObjectInfo[]>;
  /** Removes the object; removing a missing one is not an error (both stores agree on that). */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface PutOptions {
  contentType?: string;
}

export interface ByteRange {
  offset: number;
  /** Bytes to read from `offset`; to the end when absent. */
  length?: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

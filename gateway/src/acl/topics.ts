/**
 * MQTT topic name and filter rules (MQTT 3.1.1 section 4.7), used by the ACL. A topic *name* is
 * what a PUBLISH carries (no wildcards); a topic *filter* is what a SUBSCRIBE asks for.
 */

/** Whether `filter` matches the topic name `topic` [MQTT-4.7.1-2], [MQTT-4.7.1-3], [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] filters starting with a wildcard do not match topics starting with '$'
  if (topic.startsWith('$') && (filter.startsWith('#') || filter.startsWith('+'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    // '#' also matches the parent level: 'a/#' matches 'a' [MQTT-4.7.1-2]
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Whether every topic that `filter` can match is also matched by `pattern`, so granting the
 * subscription cannot leak anything `pattern` does not allow. Both are topic filters.
 */
export function filterWithin(filter: string, pattern: string): boolean {
  // [MQTT-4.7.2-1] a pattern starting with a wildcard never covers '$' topics
  if (filter.startsWith('$') && (pattern.startsWith('#') || pattern.startsWith('+'))) return false;
  const f = filter.split('/');
  const p = pattern.split('/');
  for (let i = 0; i < f.length; i++) {
    const pl = p[i];
    const fl = f[i];
    if (pl === '#') return true;
    if (pl === undefined) return false;
    if (fl === '#') {
      // filter 'a/#' covers 'a' and all below: only a pattern ending in '#' at this level covers it
      return false;
    }
    if (pl === '+') continue;
    if (fl === '+' || fl !== pl) return false;
  }
  if (f.length === p.length) return true;
  // filter 'a' against pattern 'a/#': '#' includes the parent level
  return p.length === f.length + 1 && p[f.length] === '#';
}

const maxTopicBytes = 65_535;

/** A PUBLISH topic name: non-empty, no wildcards, no NUL, UTF-8 length within bounds [MQTT-4.7.3-1..3]. */
export function isValidTopicName(topic: string): boolean {
  if (topic.length === 0 || Buffer.byteLength(topic) > maxTopicBytes) return false;
  return !topic.includes('#') && !topic.includes('+') && !topic.includes('\u0000');
}

/** A SUBSCRIBE filter: '#' only last and alone in its level, '+' alone in its level [MQTT-4.7.1-2..3]. */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || Buffer.byteLength(filter) > maxTopicBytes || filter.includes('\u0000'))
    return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}

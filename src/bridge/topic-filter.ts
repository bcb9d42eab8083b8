/**
 * MQTT topic filters: matching a topic, one filter covering another, and
 * the validity checks the local endpoint makes before anything goes upstream.
 * Wildcards at the first level never match a topic starting with "$"
 * (MQTT 3.1.1 4.7.2, MQTT 5 4.7.2): `#` does not reach `$aws/...`.
 */

export function isValidTopicName(topic: string): boolean {
  return topic.length > 0 && !/[+#\u0000]/.test(topic);
}

export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every((level, index) => {
    if (level === '#') return index === levels.length - 1;
    if (level === '+') return true;
    return !/[+#]/.test(level);
  });
}

export function matches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  if (topic.startsWith('$') && (filterLevels[0] === '+' || filterLevels[0] === '#')) return false;
  for (let index = 0; index < filterLevels.length; index++) {
    const level = filterLevels[index];
    if (level === '#') return true;
    const topicLevel = topicLevels[index];
    if (topicLevel === undefined) return false;
    if (level !== '+' && level !== topicLevel) return false;
  }
  return filterLevels.length === topicLevels.length;
}

/** True when every topic `inner` matches, `outer` matches too. */
export function covers(outer: string, inner: string): boolean {
  const outerLevels = outer.split('/');
  const innerLevels = inner.split('/');
  for (let index = 0; index < outerLevels.length; index++) {
    const level = outerLevels[index];
    const innerLevel = innerLevels[index];
    // A first-level wildcard never matches "$..." topics, which a literal "$..." level does.
    const dollarFirst = index === 0 && innerLevel?.startsWith('$') === true;
    if (level === '#') return !dollarFirst;
    if (innerLevel === undefined || innerLevel === '#') return false;
    if (level === '+') {
      if (dollarFirst) return false;
    } else if (level !== innerLevel) {
      return false;
    }
  }
  return outerLevels.length === innerLevels.length;
}

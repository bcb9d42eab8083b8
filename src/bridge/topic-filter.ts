/**
 * Whether one MQTT topic filter covers another (every topic the inner one
 * matches, the outer one matches too), by src/topics' matching rules: a
 * wildcard at the first level never matches a topic starting with "$".
 */

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

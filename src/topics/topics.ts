/**
 * MQTT topic names and filters as AWS IoT takes them: at most 256 bytes and
 * 8 levels (a leading "$aws/rules/<rule>/" or "$share/<group>/" does not
 * count), wildcards only in filters and only as whole levels. Pure: used
 * before connecting, so a topic AWS IoT would refuse is a usage error here.
 */

export const MAX_TOPIC_BYTES = 256;
export const MAX_TOPIC_LEVELS = 8;

/** The part AWS IoT counts: without the basic-ingest or shared-subscription prefix. */
function countedPart(topic: string): string {
  return topic.replace(/^\$aws\/rules\/[^/]+\//, '').replace(/^\$share\/[^/]+\//, '');
}

function commonProblem(topic: string): string | undefined {
  if (topic === '') return 'must not be empty';
  if (topic.includes('\u0000')) return 'must not contain a NUL character';
  const bytes = Buffer.byteLength(countedPart(topic), 'utf8');
  if (bytes > MAX_TOPIC_BYTES) return `is ${bytes} bytes long; AWS IoT takes at most ${MAX_TOPIC_BYTES}`;
  const levels = countedPart(topic).split('/').length;
  if (levels > MAX_TOPIC_LEVELS) return `has ${levels} levels; AWS IoT takes at most ${MAX_TOPIC_LEVELS} (7 slashes)`;
  return undefined;
}

/** Why AWS IoT would refuse this as a topic to publish to, or undefined when it is fine. */
export function topicNameProblem(topic: string): string | undefined {
  if (/[+#]/.test(topic)) return 'must be a topic name without wildcards (+, #): they belong in subscriptions';
  return commonProblem(topic);
}

/** Why this is not a valid subscription filter for AWS IoT, or undefined when it is fine. */
export function topicFilterProblem(filter: string): string | undefined {
  const levels = filter.split('/');
  for (const [index, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) return '"#" must be a whole level, and the last one';
    if (level.includes('+') && level !== '+') return '"+" must be a whole level';
  }
  return commonProblem(filter);
}

/**
 * Whether a topic matches a filter, by MQTT's rules: "+" one level, "#" the
 * rest (the parent level too), and no wildcard at the start matches a
 * topic beginning with "$".
 */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = countedFilter(filter).split('/');
  const topicLevels = topic.split('/');
  if (topic.startsWith('$') && (filterLevels[0] === '+' || filterLevels[0] === '#')) return false;
  for (const [index, level] of filterLevels.entries()) {
    if (level === '#') return true;
    const topicLevel = topicLevels[index];
    if (topicLevel === undefined) return false;
    if (level !== '+' && level !== topicLevel) return false;
  }
  return filterLevels.length === topicLevels.length;
}

/** A shared subscription ($share/<group>/<filter>) matches what its filter matches. */
function countedFilter(filter: string): string {
  return filter.replace(/^\$share\/[^/]+\//, '');
}

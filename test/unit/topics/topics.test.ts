import { describe, expect, it } from 'vitest';
import { topicFilterProblem, topicMatches, topicNameProblem } from '../../../src/topics/topics.js';

const levels = (count: number): string => Array.from({ length: count }, (_, index) => `l${index}`).join('/');

describe('topicNameProblem', () => {
  it.each(['dt/thing-1/temp', '$aws/things/thing-1/shadow/update', 'a', levels(8)])('takes %j', (topic) => {
    expect(topicNameProblem(topic)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['dt/+/temp', /wildcards/],
    ['dt/#', /wildcards/],
    [levels(9), /9 levels; AWS IoT takes at most 8/],
    ['x'.repeat(257), /257 bytes/],
    ['é'.repeat(129), /258 bytes/],
    ['a\u0000b', /NUL/],
  ])('refuses %j', (topic, reason) => {
    expect(topicNameProblem(topic)).toMatch(reason);
  });

  it('does not count the basic-ingest prefix $aws/rules/<rule>/', () => {
    expect(topicNameProblem(`$aws/rules/myRule/${levels(8)}`)).toBeUndefined();
    expect(topicNameProblem(`$aws/rules/myRule/${levels(9)}`)).toMatch(/9 levels/);
  });
});

describe('topicFilterProblem', () => {
  it.each(['dt/+/temp', 'dt/#', '#', '+', '$share/g/dt/#', levels(8)])('takes %j', (filter) => {
    expect(topicFilterProblem(filter)).toBeUndefined();
  });

  it.each([['dt/#/x', /last/], ['dt/a#', /whole level/], ['dt/a+', /whole level/], ['', /empty/], [levels(9), /levels/]])('refuses %j', (filter, reason) => {
    expect(topicFilterProblem(filter)).toMatch(reason);
  });
});

describe('topicMatches', () => {
  it.each([
    ['dt/+/temp', 'dt/thing-1/temp', true],
    ['dt/+/temp', 'dt/thing-1/hum', false],
    ['dt/+', 'dt/a/b', false],
    ['dt/#', 'dt', true],
    ['dt/#', 'dt/a/b/c', true],
    ['#', 'anything/at/all', true],
    ['#', '$aws/things/t/jobs/notify', false],
    ['+/things/t/jobs/notify', '$aws/things/t/jobs/notify', false],
    ['$aws/things/t/jobs/#', '$aws/things/t/jobs/notify-next', true],
    ['$share/g/dt/#', 'dt/x', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
    ['a/+/c', 'a//c', true],
  ])('%j matches %j: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { upstreamFilters } from '../../../src/bridge/downlink.js';
import { covers, isValidFilter, isValidTopicName, matches } from '../../../src/bridge/topic-filter.js';

describe('matches', () => {
  it.each([
    ['dt/#', 'dt/thing-1/temp', true],
    ['dt/#', 'dt', true],
    ['dt/+/temp', 'dt/thing-1/temp', true],
    ['dt/+/temp', 'dt/thing-1/hum', false],
    ['dt/+', 'dt/thing-1/temp', false],
    ['#', '$aws/things/t/shadow/update', false],
    ['+/things/#', '$aws/things/t', false],
    ['$aws/things/+/shadow/#', '$aws/things/t/shadow/update/delta', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
  ])('%s against %s: %s', (filter, topic, expected) => {
    expect(matches(filter, topic)).toBe(expected);
  });
});

describe('covers', () => {
  it.each([
    ['dt/#', 'dt/thing-1/+', true],
    ['dt/#', 'dt', true],
    ['dt/+/temp', 'dt/thing-1/temp', true],
    ['dt/thing-1/+', 'dt/#', false],
    ['dt/+', 'dt/+/x', false],
    ['a/+/c', 'a/b/+', false],
    ['#', '$aws/things/t/jobs/notify', false],
    ['+/x', '$SYS/x', false],
    ['#', '+/x', true],
  ])('%s covers %s: %s', (outer, inner, expected) => {
    expect(covers(outer, inner)).toBe(expected);
  });
});

it('keeps upstream only the filters no other covers', () => {
  expect([...upstreamFilters(['dt/thing-1/+', 'dt/#', 'cmd/x', 'dt/thing-1/temp'])].sort()).toEqual(['cmd/x', 'dt/#']);
  expect([...upstreamFilters(['a/+/c', 'a/b/+'])].sort()).toEqual(['a/+/c', 'a/b/+']);
});

it('tells valid topic names and filters from invalid ones', () => {
  expect(isValidTopicName('dt/thing-1/temp')).toBe(true);
  expect(isValidTopicName('dt/+/temp')).toBe(false);
  expect(isValidTopicName('')).toBe(false);
  expect(isValidFilter('dt/#')).toBe(true);
  expect(isValidFilter('dt/#/x')).toBe(false);
  expect(isValidFilter('dt/te+mp')).toBe(false);
});

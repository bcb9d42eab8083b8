import { describe, expect, it } from 'vitest';
import { upstreamFilters } from '../../../src/bridge/downlink.js';
import { covers } from '../../../src/bridge/topic-filter.js';

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


/** Parsers for flag values: a usage error names the flag and what it must be. */
import { InvalidArgumentError } from 'commander';
import { topicFilterProblem, topicNameProblem } from '../topics/topics.js';

export function parseInteger(min: number, max: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('not a whole number.');
    const number = Number(value);
    if (number < min || number > max) throw new InvalidArgumentError(`must be between ${min} and ${max}.`);
    return number;
  };
}

export function parseChoice<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${choices.join(', ')}.`);
    return value as T;
  };
}

/** A topic to publish to, as AWS IoT would take it. */
export function parseTopicName(value: string): string {
  const problem = topicNameProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(`${problem}.`);
  return value;
}

/** A subscription filter, as AWS IoT would take it. */
export function parseTopicFilter(value: string): string {
  const problem = topicFilterProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(`${problem}.`);
  return value;
}

/** Parsers for flag values: a usage error names the flag and what it must be. */
import { InvalidArgumentError } from 'commander';

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

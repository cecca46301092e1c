import { InvalidArgumentError } from 'commander';

/** Option parsers for commander: a bad value is a usage error (exit 2) before any request. */
export function integerOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`must be an integer`);
    const number = Number(value);
    if (number < min || number > max) throw new InvalidArgumentError(`must be between ${min} and ${max}`);
    return number;
  };
}

export function numberOption(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number)) throw new InvalidArgumentError('must be a number');
    if (number < min || number > max) throw new InvalidArgumentError(`must be between ${min} and ${max}`);
    return number;
  };
}

/** Any date the JavaScript Date parser reads, sent as UTC ISO-8601 as the contract wants. */
export function timestampOption(value: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new InvalidArgumentError('must be a date/time, e.g. 2026-03-01T08:00:00Z');
  return new Date(time).toISOString();
}

export function choiceOption<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${choices.join(', ')}`);
    return value as T;
  };
}

/** For repeatable options: `--encryption-key a --encryption-key b`. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The option every deleting command takes (see CommandContext.confirmation). */
export const YES_HELP = 'delete without asking (required when not on a terminal)';

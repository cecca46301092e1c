/**
 * The format language of serial pools (api.md "Per-unit data"). A format is fixed text and
 * fields; the pool's value `start + index × step` is written across the variable fields as one
 * mixed-radix number, the rightmost field least significant:
 *
 *   {n}            decimal, unpadded; only as the leftmost variable field (it takes what is left)
 *   {n:8} {n:08}   decimal, zero-padded to exactly 8 digits (10^8 values)
 *   {X:6} {x:6}    hexadecimal, upper / lower case, zero-padded to exactly 6 digits (16^6 values)
 *   {chars:0-9A-F} one character position from a set: ranges and single characters, in order
 *   {check:luhn}   Luhn mod 10 check digit over the digits before it (other fixed text skipped)
 *   {check:mod37-36}  ISO/IEC 7064 MOD 37,36 (hybrid) check character over the letters and digits before it
 *   {check:mod11-10}  ISO/IEC 7064 MOD 11,10 (hybrid) check digit over the digits before it
 *   {{ and }}      a literal brace
 *
 * e.g. `SN-{n:08}` → SN-00000042; `AB{chars:0-9A-Z}{chars:0-9A-Z}-{X:4}{check:mod37-36}`.
 * Pure: the API validates with it at pool creation and renders values with it at authorization.
 */

export interface FormatIssue {
  path: string;
  message: string;
}

type CheckAlgorithm = 'luhn' | 'mod37-36' | 'mod11-10';

type Token =
  | { kind: 'text'; text: string }
  | { kind: 'decimal'; width: number | null }
  | { kind: 'hex'; width: number; upper: boolean }
  | { kind: 'chars'; set: string }
  | { kind: 'check'; algorithm: CheckAlgorithm };

export interface SerialFormat {
  source: string;
  tokens: readonly Token[];
  /** How many distinct values the fields can write (capped at 2^53: beyond, numbers lose precision). */
  capacity: number;
}

/** The longest value a format may write: it travels in tickets, results and device memory. */
export const MAX_FORMATTED_LENGTH = 64;
export const MAX_FORMAT_LENGTH = 200;
const MAX_DECIMAL_WIDTH = 16;
const MAX_HEX_WIDTH = 13;
/**
 * The largest capacity a pool may have: a safe integer itself, because the pool item stores it
 * (the DynamoDB marshaller refuses unsafe numbers: 2^53 made `{n}` a 500), and so is every value
 * below it.
 */
const SAFE_LIMIT = BigInt(Number.MAX_SAFE_INTEGER);

const DIGITS = '0123456789';
const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export class SerialFormatError extends Error {
  constructor(readonly issue: FormatIssue) {
    super(`${issue.path}: ${issue.message}`);
    this.name = 'SerialFormatError';
  }
}

function fail(path: string, message: string): never {
  throw new SerialFormatError({ path, message });
}

/** Expands `0-9A-F` or `ACDEFHJKLMNPRTUVWXY3479` into its characters, in the order written. */
function parseCharacterSet(spec: string, path: string): string {
  const chars: string[] = [];
  for (let i = 0; i < spec.length; i += 1) {
    const from = spec[i] as string;
    if (spec[i + 1] === '-' && i + 2 < spec.length) {
      const to = spec[i + 2] as string;
      if (to.charCodeAt(0) <= from.charCodeAt(0)) fail(path, `character range "${from}-${to}" runs backwards`);
      for (let code = from.charCodeAt(0); code <= to.charCodeAt(0); code += 1) chars.push(String.fromCharCode(code));
      i += 2;
    } else {
      chars.push(from);
    }
  }
  for (const char of chars) {
    if (char < '!' || char > '~') fail(path, `character sets take printable ASCII characters only, not ${JSON.stringify(char)}`);
  }
  if (new Set(chars).size !== chars.length) fail(path, `character set "${spec}" names a character twice: two values would print the same`);
  if (chars.length < 2) fail(path, `character set "${spec}" needs at least 2 characters`);
  return chars.join('');
}

function parseField(body: string, path: string): Token {
  const [name, argument, ...rest] = body.split(':');
  if (rest.length > 0 && name !== 'chars') fail(path, `field {${body}} has too many ":"`);
  switch (name) {
    case 'n': {
      if (argument === undefined) return { kind: 'decimal', width: null };
      if (!/^0?\d{1,2}$/.test(argument)) fail(path, `{n:${argument}}: the width must be a number, e.g. {n:08}`);
      const width = Number(argument);
      if (width < 1 || width > MAX_DECIMAL_WIDTH) fail(path, `{n:${argument}}: the width must be 1 to ${MAX_DECIMAL_WIDTH}`);
      return { kind: 'decimal', width };
    }
    case 'X':
    case 'x': {
      if (argument === undefined || !/^0?\d{1,2}$/.test(argument)) fail(path, `{${name}:W}: hexadecimal fields need a width, e.g. {${name}:6}`);
      const width = Number(argument);
      if (width < 1 || width > MAX_HEX_WIDTH) fail(path, `{${name}:${argument}}: the width must be 1 to ${MAX_HEX_WIDTH}`);
      return { kind: 'hex', width, upper: name === 'X' };
    }
    case 'chars': {
      const spec = body.slice('chars:'.length);
      if (argument === undefined || spec.length === 0) fail(path, '{chars:SET} needs a character set, e.g. {chars:0-9A-F}');
      return { kind: 'chars', set: parseCharacterSet(spec, path) };
    }
    case 'check':
      if (argument !== 'luhn' && argument !== 'mod37-36' && argument !== 'mod11-10') {
        fail(path, `{check:${argument ?? ''}}: the check algorithm must be luhn, mod37-36 or mod11-10`);
      }
      return { kind: 'check', algorithm: argument };
    default:
      fail(path, `unknown field {${body}}: use {n}, {n:08}, {X:6}, {x:6}, {chars:SET} or {check:luhn|mod37-36|mod11-10}`);
  }
}

function tokenize(source: string, path: string): Token[] {
  const tokens: Token[] = [];
  let text = '';
  for (let i = 0; i < source.length; i += 1) {
    const char = source[i] as string;
    if ((char === '{' || char === '}') && source[i + 1] === char) {
      text += char;
      i += 1;
    } else if (char === '{') {
      const end = source.indexOf('}', i);
      if (end < 0) fail(path, `"{" at position ${i + 1} is never closed (write {{ for a literal brace)`);
      if (text) tokens.push({ kind: 'text', text });
      text = '';
      tokens.push(parseField(source.slice(i + 1, end), path));
      i = end;
    } else if (char === '}') {
      fail(path, `"}" at position ${i + 1} closes nothing (write }} for a literal brace)`);
    } else {
      text += char;
    }
  }
  if (text) tokens.push({ kind: 'text', text });
  return tokens;
}

function radixOf(token: Token): bigint | null {
  switch (token.kind) {
    case 'decimal':
      return token.width === null ? null : 10n ** BigInt(token.width);
    case 'hex':
      return 16n ** BigInt(token.width);
    case 'chars':
      return BigInt(token.set.length);
    default:
      return 1n;
  }
}

/** Characters a variable field can write, for checking what a check character covers. */
function alphabetOf(token: Token): string {
  switch (token.kind) {
    case 'decimal':
      return DIGITS;
    case 'hex':
      return token.upper ? '0123456789ABCDEF' : '0123456789abcdef';
    case 'chars':
      return token.set;
    default:
      return '';
  }
}

function checkCovers(algorithm: CheckAlgorithm): string {
  return algorithm === 'mod37-36' ? ALPHANUMERIC : DIGITS;
}

const isVariable = (token: Token) => token.kind === 'decimal' || token.kind === 'hex' || token.kind === 'chars';

/** Parses and checks a format; a bad one is a SerialFormatError naming `path` and why. */
export function parseSerialFormat(source: string, path = 'format'): SerialFormat {
  if (source.length === 0) fail(path, 'must not be empty');
  if (source.length > MAX_FORMAT_LENGTH) fail(path, `is longer than ${MAX_FORMAT_LENGTH} characters`);
  const tokens = tokenize(source, path);
  const variables = tokens.filter(isVariable);
  // No variable field is fixed text: a pool of one value (capacity 1), handed out once like any
  // other. Refusing it was a 400 for a body the schema accepts (schemathesis, issue 9).
  const unbounded = tokens.findIndex((token) => token.kind === 'decimal' && token.width === null);
  if (unbounded >= 0 && tokens.findIndex(isVariable) !== unbounded) {
    fail(path, '{n} without a width takes whatever the fields after it leave, so it must be the first variable field; give it a width, e.g. {n:08}');
  }
  const checks = tokens.filter((token) => token.kind === 'check');
  if (checks.length > 1) fail(path, 'has more than one check character');
  const checkAt = tokens.findIndex((token) => token.kind === 'check');
  if (checkAt >= 0) {
    const check = tokens[checkAt] as Extract<Token, { kind: 'check' }>;
    const covered = checkCovers(check.algorithm);
    const before = tokens.slice(0, checkAt);
    if (!before.some(isVariable)) fail(path, `{check:${check.algorithm}} must come after a variable field: it checks what precedes it`);
    for (const token of before.filter(isVariable)) {
      const outside = [...alphabetOf(token)].filter((char) => !covered.includes(char.toUpperCase()));
      if (outside.length > 0) {
        fail(path, `{check:${check.algorithm}} covers ${check.algorithm === 'mod37-36' ? 'letters and digits' : 'digits'} only, but a field before it can write "${outside.join('')}"`);
      }
    }
  }
  let capacity = 1n;
  for (const token of variables) capacity *= radixOf(token) ?? SAFE_LIMIT;
  if (capacity > SAFE_LIMIT) capacity = SAFE_LIMIT;
  const format: SerialFormat = { source, tokens, capacity: Number(capacity) };
  const longest = renderSerial(format, format.capacity - 1);
  if (longest.length > MAX_FORMATTED_LENGTH) fail(path, `writes values up to ${longest.length} characters (at most ${MAX_FORMATTED_LENGTH})`);
  return format;
}

/** The value (0 ≤ value < capacity) as the format writes it. */
export function renderSerial(format: SerialFormat, value: number): string {
  if (!Number.isSafeInteger(value) || value < 0 || value >= format.capacity) throw new RangeError(`value ${value} is outside 0..${format.capacity - 1}`);
  const parts: string[] = new Array(format.tokens.length).fill('');
  let rest = BigInt(value);
  for (let i = format.tokens.length - 1; i >= 0; i -= 1) {
    const token = format.tokens[i] as Token;
    if (token.kind === 'text') parts[i] = token.text;
    else if (token.kind === 'decimal' && token.width === null) {
      parts[i] = rest.toString();
      rest = 0n;
    } else if (token.kind === 'decimal' || token.kind === 'hex') {
      const radix = radixOf(token) as bigint;
      const digits = (rest % radix).toString(token.kind === 'hex' ? 16 : 10).padStart(token.width as number, '0');
      parts[i] = token.kind === 'hex' && token.upper ? digits.toUpperCase() : digits;
      rest /= radix;
    } else if (token.kind === 'chars') {
      const radix = BigInt(token.set.length);
      parts[i] = token.set[Number(rest % radix)] as string;
      rest /= radix;
    }
  }
  const checkAt = format.tokens.findIndex((token) => token.kind === 'check');
  if (checkAt >= 0) {
    const check = format.tokens[checkAt] as Extract<Token, { kind: 'check' }>;
    parts[checkAt] = checkCharacter(check.algorithm, parts.slice(0, checkAt).join(''));
  }
  return parts.join('');
}

/** Check character of `text`: characters the algorithm does not cover (fixed text like "SN-") are skipped. */
export function checkCharacter(algorithm: CheckAlgorithm, text: string): string {
  const covered = checkCovers(algorithm);
  const values = [...text.toUpperCase()].map((char) => covered.indexOf(char)).filter((value) => value >= 0);
  if (algorithm === 'luhn') return String(luhnCheckDigit(values));
  const modulus = algorithm === 'mod37-36' ? 36 : 10;
  return covered[iso7064HybridCheck(values, modulus)] as string;
}

/** Luhn mod 10: double every second digit from the right (the check digit's neighbour first). */
export function luhnCheckDigit(digits: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    const digit = digits[digits.length - 1 - i] as number;
    const weighted = i % 2 === 0 ? digit * 2 : digit;
    sum += weighted > 9 ? weighted - 9 : weighted;
  }
  return (10 - (sum % 10)) % 10;
}

/** ISO/IEC 7064 hybrid system MOD (M+1, M): MOD 11,10 for digits, MOD 37,36 for letters and digits. */
export function iso7064HybridCheck(values: readonly number[], modulus: number): number {
  let product = modulus;
  for (const value of values) {
    let sum = (product + value) % modulus;
    if (sum === 0) sum = modulus;
    product = (sum * 2) % (modulus + 1);
  }
  return (modulus + 1 - product) % modulus;
}

/** How many indexes a pool of this format, start and step can hand out before a value would not fit. */
export function poolCapacity(format: SerialFormat, start: number, step: number): number {
  if (start >= format.capacity) return 0;
  return Math.floor((format.capacity - 1 - start) / step) + 1;
}

/** The value handed out at `index` of a pool. */
export function poolValueAt(format: SerialFormat, start: number, step: number, index: number): string {
  return renderSerial(format, start + index * step);
}

/**
 * The inverse of renderSerial: the value a format wrote as `text`, or undefined when the format
 * cannot have written it. Every field but an unpadded {n} has a fixed width, so the text splits
 * by position; the value is then rendered again and compared, which also checks fixed text, the
 * check character and that an unpadded {n} has no leading zeros.
 */
export function parseSerialValue(format: SerialFormat, text: string): number | undefined {
  const widthOf = (token: Token): number | null =>
    token.kind === 'text' ? token.text.length : token.kind === 'decimal' || token.kind === 'hex' ? token.width : 1;
  const fixed = format.tokens.reduce((sum, token) => sum + (widthOf(token) ?? 0), 0);
  const open = text.length - fixed;
  if (open < 0 || (open > 0 && !format.tokens.some((token) => widthOf(token) === null))) return undefined;
  let value = 0n;
  let at = 0;
  for (const token of format.tokens) {
    const width = widthOf(token) ?? open;
    const part = text.slice(at, at + width);
    at += width;
    if (token.kind === 'text' || token.kind === 'check') continue;
    if (width === 0) return undefined;
    const radix = radixOf(token) ?? 10n ** BigInt(width);
    const alphabet = alphabetOf(token);
    let digits = 0n;
    for (const char of part) {
      const digit = alphabet.indexOf(char);
      if (digit < 0) return undefined;
      digits = digits * BigInt(token.kind === 'chars' ? token.set.length : alphabet.length) + BigInt(digit);
    }
    value = value * radix + digits;
  }
  if (value >= BigInt(format.capacity)) return undefined;
  const candidate = Number(value);
  return renderSerial(format, candidate) === text ? candidate : undefined;
}

/** The pool index whose value is `text`, or undefined when the pool cannot have issued it. */
export function poolIndexOf(format: SerialFormat, start: number, step: number, text: string): number | undefined {
  const value = parseSerialValue(format, text);
  if (value === undefined || value < start || (value - start) % step !== 0) return undefined;
  return (value - start) / step;
}

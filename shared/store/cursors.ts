import { createHmac, timingSafeEqual } from 'node:crypto';
import { MAX_CURSOR_LENGTH } from '../domain/cursors.js';
import { ValidationError } from '../domain/errors.js';

/**
 * Cursors are positions in a list (a sort key) that the client hands back. Unchecked, a client
 * could start a read anywhere: at a key of another kind, at one DynamoDB refuses (a 500), or in
 * a list it was not given. So a cursor is `{position}.{HMAC-SHA256}` (base64url), the MAC keyed
 * by a deployment secret and computed over the position AND the list it belongs to (its
 * partition, and its sort-key prefix or feed): a cursor of another account's list, another job's
 * log or another kind of list fails the check exactly like a tampered or truncated one, and
 * answers `400 invalid_request` naming `cursor`. The length is checked before anything decodes.
 */
export interface CursorCodec {
  /** A cursor for `position` in the list `list` (its partition and kind). */
  seal(list: string, position: string): Promise<string>;
  /** The position a cursor of `list` names; undefined without a cursor; a ValidationError when it is not one of `list`'s. */
  open(list: string, cursor: string | undefined): Promise<string | undefined>;
}

/** A key of at least 256 bits; read lazily, once per container. */
export type CursorKeySource = () => Promise<Uint8Array>;

const SIGNATURE_CHARS = 43; // 32 bytes, base64url without padding
const SHAPE = new RegExp(`^([A-Za-z0-9_-]+)\\.([A-Za-z0-9_-]{${SIGNATURE_CHARS}})$`);

export function invalidCursor(message = 'is not a cursor of this list'): ValidationError {
  return new ValidationError([{ path: 'query.cursor', message }]);
}

export class HmacCursorCodec implements CursorCodec {
  private key: Promise<Uint8Array> | undefined;

  constructor(private readonly source: CursorKeySource) {}

  private async mac(list: string, position: string): Promise<Buffer> {
    // A failed read is not cached: the next request tries again.
    this.key ??= this.source().catch((error: unknown) => {
      this.key = undefined;
      throw error;
    });
    // The list and the position are separated by a byte neither contains (keys are printable).
    return createHmac('sha256', await this.key).update(`${list}\u0000${position}`, 'utf8').digest();
  }

  async seal(list: string, position: string): Promise<string> {
    return `${Buffer.from(position, 'utf8').toString('base64url')}.${(await this.mac(list, position)).toString('base64url')}`;
  }

  async open(list: string, cursor: string | undefined): Promise<string | undefined> {
    if (cursor === undefined) return undefined;
    if (cursor.length > MAX_CURSOR_LENGTH) throw invalidCursor(`is longer than ${MAX_CURSOR_LENGTH} characters`);
    const match = SHAPE.exec(cursor);
    if (!match) throw invalidCursor();
    const positionBytes = Buffer.from(match[1] as string, 'base64url');
    const presented = Buffer.from(match[2] as string, 'base64url');
    // Only the one canonical spelling: base64's last character carries spare bits a tamperer could flip unnoticed.
    if (positionBytes.toString('base64url') !== match[1] || presented.toString('base64url') !== match[2]) throw invalidCursor();
    const position = positionBytes.toString('utf8');
    const expected = await this.mac(list, position);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw invalidCursor();
    return position;
  }
}

/** For a function that never pages (the device API): using it is a wiring mistake, not a client error. */
export const NO_CURSORS: CursorCodec = {
  seal: () => Promise.reject(new Error('This function holds no cursor key')),
  open: () => Promise.reject(new Error('This function holds no cursor key')),
};

/** A key that lives as long as the process: for tools and tests whose cursors never leave it. */
export function ephemeralCursorCodec(): CursorCodec {
  const key = crypto.getRandomValues(new Uint8Array(32));
  return new HmacCursorCodec(async () => key);
}

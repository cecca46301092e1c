import type { CredentialsFileType } from '../../shared/contract/index.js';

/**
 * The signed-in token lives in sessionStorage only: it dies with the tab, is never written to
 * the URL (deep links are shared and logged), and never reaches localStorage.
 */
const STORAGE_KEY = 'flashline.session';

export interface Session {
  token: string;
  /** Known when the whole credentials file was pasted. */
  role?: CredentialsFileType['role'];
  keyId?: string;
  /** The API the credentials file names; only used to warn about a mismatch. */
  endpoint?: string;
}

export class CredentialsInputError extends Error {}

/** Accepts the bare token or the whole credentials file JSON. */
export function parseCredentialsInput(input: string): Session {
  const text = input.trim();
  if (!text) throw new CredentialsInputError('Paste a token or the credentials file.');
  if (text.startsWith('{')) {
    let file: Partial<CredentialsFileType>;
    try {
      file = JSON.parse(text) as Partial<CredentialsFileType>;
    } catch {
      throw new CredentialsInputError('This looks like JSON but is not valid: paste the whole credentials file.');
    }
    if (typeof file.token !== 'string' || !file.token) throw new CredentialsInputError('The credentials file has no "token".');
    if (file.role === 'programmer') throw new CredentialsInputError('These are programmer credentials: sign in with an account API key instead.');
    return { token: file.token, role: file.role, keyId: file.keyId, endpoint: file.endpoint };
  }
  const token = text.replace(/^Bearer\s+/i, '');
  if (/\s/.test(token)) throw new CredentialsInputError('A token has no spaces: paste the token or the credentials file.');
  return { token };
}

export function loadSession(): Session | null {
  try {
    const stored = sessionStorage.getItem(STORAGE_KEY);
    if (!stored) return null;
    const session = JSON.parse(stored) as Session;
    return typeof session.token === 'string' ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

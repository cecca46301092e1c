import type { CredentialsFileType } from '../../shared/contract/index.js';

/**
 * The signed-in token lives in sessionStorage only: it dies with the tab, is never written to
 * the URL (deep links are shared and logged), and never reaches localStorage.
 */
const STORAGE_KEY = 'flashline.session';

export interface Session {
  token: string;
  /** `person`: signed in through the user pool (PersonSession); otherwise an API token was pasted. */
  via?: 'key' | 'person';
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

/**
 * People sign in through the user pool's Hosted UI with authorization code + PKCE (RFC 7636).
 * Why not SRP in this page: the Hosted UI is the only path to a company's OIDC/SAML provider,
 * it runs first-sign-in password changes and TOTP MFA itself, no password ever reaches this
 * page, and it needs nothing but SHA-256 from Web Crypto; MiniStack serves the same endpoints
 * (/oauth2/authorize, /login, /oauth2/token with PKCE, /logout) as AWS's managed login.
 * Tokens live where the API token does (sessionStorage of this tab), never in the URL: the
 * code that comes back in the query is exchanged and wiped from the address bar at once.
 */
export interface PeopleConfig {
  clientId: string;
  /** Base URL of the Hosted UI and token endpoint (AWS: https://{prefix}.auth.{region}.amazoncognito.com). */
  signInUrl: string;
}

export interface PersonSession extends Session {
  via: 'person';
  refreshToken: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
}

const PKCE_KEY = 'flashline.pkce';

export function isPersonSession(session: Session | null | undefined): session is PersonSession {
  return (session as PersonSession | null | undefined)?.via === 'person';
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomText(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The one place Cognito sends the browser back to: the console's own root (the client's callback URL). */
export function redirectUri(): string {
  return `${location.origin}/`;
}

export async function pkceChallenge(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

/** Leaves the page for the Hosted UI; the verifier and state wait in this tab for the way back. */
export async function beginPersonSignIn(config: PeopleConfig): Promise<void> {
  const verifier = randomText(32);
  const state = randomText(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, returnTo: location.hash }));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid email',
    state,
    code_challenge: await pkceChallenge(verifier),
    code_challenge_method: 'S256',
  });
  location.assign(`${config.signInUrl}/oauth2/authorize?${query}`);
}

export class PersonSignInError extends Error {}

interface TokenAnswer {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
}

async function tokenRequest(config: PeopleConfig, fields: Record<string, string>): Promise<TokenAnswer & { access_token: string; expires_in: number }> {
  const response = await fetch(`${config.signInUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: config.clientId, ...fields }),
  });
  const answer = (await response.json().catch(() => ({}))) as TokenAnswer;
  if (!response.ok || !answer.access_token) throw new PersonSignInError(answer.error_description ?? answer.error ?? `the sign-in service answered HTTP ${response.status}`);
  return { ...answer, access_token: answer.access_token, expires_in: answer.expires_in ?? 3600 };
}

/**
 * On the way back from the Hosted UI (`?code=…&state=…`): exchanges the code with the
 * verifier, stores the session, and takes the code out of the address bar. Undefined when the
 * page was not opened by a sign-in.
 */
export async function completePersonSignIn(config: PeopleConfig): Promise<PersonSession | undefined> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return undefined;
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null') as { verifier: string; state: string; returnTo: string } | null;
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, '', `${location.pathname}${pending?.returnTo ?? ''}`);
  if (error) throw new PersonSignInError(params.get('error_description') ?? error);
  if (!pending || pending.state !== params.get('state')) throw new PersonSignInError('This sign-in was not started in this tab: sign in again.');
  const answer = await tokenRequest(config, { grant_type: 'authorization_code', code: code!, redirect_uri: redirectUri(), code_verifier: pending.verifier });
  const session: PersonSession = { via: 'person', token: answer.access_token, refreshToken: answer.refresh_token ?? '', expiresAt: Date.now() + answer.expires_in * 1000 };
  saveSession(session);
  return session;
}

/** A fresh access token before the old one expires; the refresh token stays (Cognito does not rotate it). */
export async function refreshPersonSession(config: PeopleConfig, session: PersonSession): Promise<PersonSession> {
  const answer = await tokenRequest(config, { grant_type: 'refresh_token', refresh_token: session.refreshToken });
  const refreshed: PersonSession = { ...session, token: answer.access_token, expiresAt: Date.now() + answer.expires_in * 1000 };
  saveSession(refreshed);
  return refreshed;
}

/** When to refresh: a minute before expiry, never in the past. */
export function refreshDelayMs(session: PersonSession, now = Date.now()): number {
  return Math.max(0, session.expiresAt - now - 60_000);
}

/**
 * Forgets the tokens here, revokes the refresh token (best effort: an emulator may not serve
 * /oauth2/revoke), and ends the Hosted UI's own session so the next sign-in asks again.
 */
export async function signOutPerson(config: PeopleConfig, session: PersonSession): Promise<void> {
  clearSession();
  await fetch(`${config.signInUrl}/oauth2/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: config.clientId, token: session.refreshToken }),
  }).catch(() => undefined);
  location.assign(`${config.signInUrl}/logout?${new URLSearchParams({ client_id: config.clientId, logout_uri: redirectUri() })}`);
}

import { createHash, randomBytes } from 'node:crypto';

/** The user pool as the tests reach it: the deployed stack's outputs. */
export interface PeopleStack {
  signInUrl: string;
  clientId: string;
}

export interface PersonTokens {
  accessToken: string;
  refreshToken: string;
}

const base64url = (bytes: Buffer) => bytes.toString('base64url');

/**
 * Signs a person in exactly as the console does (authorization code + PKCE through the Hosted
 * UI), but by HTTP: GET /oauth2/authorize, the sign-in form, the new-password form of a first
 * sign-in, then the code exchanged at /oauth2/token with the verifier. MiniStack's Hosted UI
 * forms are the ones posted here; AWS's managed login needs a browser (console-people.test.ts).
 */
export async function signInThroughHostedUi(stack: PeopleStack, redirectUri: string, email: string, password: string, newPassword?: string): Promise<PersonTokens> {
  const verifier = base64url(randomBytes(32));
  const oauth = {
    client_id: stack.clientId,
    redirect_uri: redirectUri,
    scope: 'openid email',
    state: base64url(randomBytes(12)),
    response_type: 'code',
    code_challenge: base64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
    nonce: '',
  };
  const authorize = await fetch(`${stack.signInUrl}/oauth2/authorize?${new URLSearchParams(oauth)}`);
  if (!authorize.ok) throw new Error(`/oauth2/authorize answered ${authorize.status}: ${await authorize.text()}`);
  let answer = await postForm(`${stack.signInUrl}/login`, { ...oauth, username: email, password });
  const newPasswordToken = answer.status === 200 ? /name="np_token" value="([^"]+)"/.exec(await answer.text())?.[1] : undefined;
  if (newPasswordToken) {
    if (!newPassword) throw new Error('The pool asks for a new password and none was given');
    answer = await postForm(`${stack.signInUrl}/login`, { np_token: newPasswordToken, new_password: newPassword, confirm_password: newPassword });
  }
  const location = answer.headers.get('location');
  if (answer.status !== 302 || !location) throw new Error(`Sign-in did not redirect (HTTP ${answer.status}): ${(await answer.text()).slice(0, 300)}`);
  const back = new URL(location);
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`Sign-in redirected without a code: ${back.searchParams.get('error') ?? location}`);
  if (back.searchParams.get('state') !== oauth.state) throw new Error('Sign-in came back with another state');
  const tokens = await postForm(`${stack.signInUrl}/oauth2/token`, { grant_type: 'authorization_code', client_id: stack.clientId, code, redirect_uri: redirectUri, code_verifier: verifier });
  const body = (await tokens.json()) as { access_token?: string; refresh_token?: string; error?: string };
  if (!tokens.ok || !body.access_token || !body.refresh_token) throw new Error(`/oauth2/token answered ${tokens.status}: ${JSON.stringify(body)}`);
  return { accessToken: body.access_token, refreshToken: body.refresh_token };
}

/** A new access token from the refresh token, as the console refreshes. */
export async function refreshAccessToken(stack: PeopleStack, refreshToken: string): Promise<{ status: number; accessToken?: string }> {
  const response = await postForm(`${stack.signInUrl}/oauth2/token`, { grant_type: 'refresh_token', client_id: stack.clientId, refresh_token: refreshToken });
  const body = (await response.json()) as { access_token?: string };
  return { status: response.status, accessToken: body.access_token };
}

function postForm(url: string, fields: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields), redirect: 'manual' });
}

import { type KeyObject, generateKeyPairSync, sign } from 'node:crypto';
import { signingInput } from '../domain/jws.js';
import {
  type KeyCertificateClaims,
  KEY_CERTIFICATE_TYPE,
  MAX_CERTIFICATE_SECONDS,
  type TicketHeader,
  certificateCovers,
  keyCertificateClaims,
  ticketHeader,
} from '../domain/session-keys.js';
import type { TicketSigner } from './authorizations.js';
import type { KmsJwsSigner } from './signer.js';


export interface SessionTicketSignerOptions {
  /** Make a new session key this long after the last one was certified: well before its certificate ends. */
  renewAfterSeconds?: number;
  /** The certificate's life (`exp − iat`, at most a day by the contract). */
  certificateSeconds?: number;
  /** Clock in milliseconds; tests move it. */
  now?: () => number;
}

interface Session {
  privateKey: KeyObject;
  certificate: KeyCertificateClaims;
  header: TicketHeader;
}

const HOUR = 60 * 60;
/**
 * The certificate starts this long before it is made: the ticket that triggers a container's
 * first certification was decided (its `iat`) just before, and clocks of containers differ a little.
 */
const NOT_BEFORE_SLACK_SECONDS = 60;
/** An old session key stops being used this long before its certificate ends. */
const END_MARGIN_SECONDS = 5 * 60;
/** After a failed background renewal, the old key keeps signing and KMS is asked again after this. */
const RETRY_AFTER_MS = 30_000;

/**
 * Signs tickets with an in-memory P-256 session key whose public half the KMS root key certified
 * once (api.md v1.1): one KMS Sign per container and renewal, not one per ticket, so KMS's
 * shared signing quota and price stop scaling with authorizations. The private key is a
 * KeyObject this module never exports, logs or stores: it exists only in this process.
 *
 * Concurrent first calls share one certification. Renewal happens in the background while the
 * old key (certified for hours more) keeps signing, so no request waits for KMS after the first.
 */
export class SessionTicketSigner implements TicketSigner {
  private active?: Session;
  private pending?: Promise<Session>;
  private renewAtMs = 0;
  private readonly renewAfterMs: number;
  private readonly certificateSeconds: number;
  private readonly now: () => number;

  constructor(
    private readonly root: KmsJwsSigner,
    options: SessionTicketSignerOptions = {},
  ) {
    this.certificateSeconds = options.certificateSeconds ?? MAX_CERTIFICATE_SECONDS;
    this.renewAfterMs = (options.renewAfterSeconds ?? 12 * HOUR) * 1000;
    this.now = options.now ?? Date.now;
    if (this.renewAfterMs / 1000 + END_MARGIN_SECONDS >= this.certificateSeconds - NOT_BEFORE_SLACK_SECONDS) {
      throw new RangeError('Session keys must be renewed well before their certificate ends');
    }
  }

  /** A compact JWS whose header carries `crt`; verifiable with the root JWKS alone. */
  async signTicket(payload: Record<string, unknown>): Promise<string> {
    const { iat } = payload;
    if (typeof iat !== 'number') throw new TypeError('A ticket needs a numeric iat: its certificate must cover it');
    const session = await this.session();
    // The verifier refuses a ticket its certificate does not cover; never hand one out.
    if (!certificateCovers(session.certificate, iat)) {
      throw new Error(`Ticket iat ${iat} lies outside the session certificate [${session.certificate.iat}, ${session.certificate.exp}]`);
    }
    const input = signingInput(session.header, payload);
    const signature = sign('sha256', Buffer.from(input, 'utf8'), { key: session.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }

  private async session(): Promise<Session> {
    const { active } = this;
    if (active && this.now() < this.renewAtMs) return active;
    const renewal = this.renew();
    if (active && this.now() < (active.certificate.exp - END_MARGIN_SECONDS) * 1000) {
      // The old key stays good for hours: sign with it now, swap when the new one is certified.
      renewal.catch(() => undefined);
      return active;
    }
    return renewal;
  }

  private renew(): Promise<Session> {
    this.pending ??= this.certify().then(
      (session) => {
        this.active = session;
        this.renewAtMs = this.now() + this.renewAfterMs;
        this.pending = undefined;
        return session;
      },
      (error: unknown) => {
        this.pending = undefined;
        this.renewAtMs = this.now() + RETRY_AFTER_MS;
        throw error;
      },
    );
    return this.pending;
  }

  private async certify(): Promise<Session> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { x, y } = publicKey.export({ format: 'jwk' });
    if (!x || !y) throw new Error('node:crypto exported no P-256 coordinates');
    const certificate = keyCertificateClaims({ kty: 'EC', crv: 'P-256', x, y }, Math.floor(this.now() / 1000), this.certificateSeconds, NOT_BEFORE_SLACK_SECONDS);
    const crt = await this.root.sign(KEY_CERTIFICATE_TYPE, { ...certificate });
    return { privateKey, certificate, header: ticketHeader(certificate, crt) };
  }
}

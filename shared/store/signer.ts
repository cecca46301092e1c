import { createPublicKey, createVerify } from 'node:crypto';
import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { derToJoseSignature, signingInput } from '../domain/jws.js';
import { METRIC } from '../observability/metric-names.js';
import { count } from '../observability/metrics.js';

export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

/**
 * Signs compact JWS with the KMS ECC_NIST_P256 key (the private key never leaves KMS) and
 * publishes its public half as a JWK. One instance per container; the public key is cached.
 */
export class KmsJwsSigner {
  private publicJwk?: Promise<PublicJwk>;

  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  /** `kid` is the KMS key id, so a verifier with several published keys picks the right one. */
  async sign(typ: string, payload: Record<string, unknown>): Promise<string> {
    const kid = await this.kid();
    const input = signingInput({ alg: 'ES256', kid, typ }, payload);
    const { Signature } = await countingKmsErrors(
      this.kms.send(new SignCommand({ KeyId: this.keyId, Message: Buffer.from(input, 'utf8'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' })),
    );
    if (!Signature) throw new Error('KMS returned no signature');
    return `${input}.${derToJoseSignature(Signature).toString('base64url')}`;
  }

  /**
   * A key id or key ARN names the kid itself, saving the GetPublicKey round trip before a
   * container's first signature; only an alias has to be resolved through KMS.
   */
  private async kid(): Promise<string> {
    const isAlias = this.keyId.startsWith('alias/') || this.keyId.includes(':alias/');
    return isAlias ? (await this.jwk()).kid : kidOf(this.keyId);
  }

  /**
   * v1 tickets, signed by the root key itself (one KMS call per ticket), as verifiers must still
   * accept. The authorizations function (functions/device-authorizations) signs with a SessionTicketSigner instead.
   */
  signTicket(payload: Record<string, unknown>): Promise<string> {
    return this.sign('flashline-ticket+jwt', payload);
  }

  jwk(): Promise<PublicJwk> {
    this.publicJwk ??= this.loadJwk().catch((error) => {
      this.publicJwk = undefined;
      throw error;
    });
    return this.publicJwk;
  }

  /** Verifies a JWS we issued (signature and `kid` only; claims are the caller's business). */
  async verify(jws: string): Promise<boolean> {
    const parts = jws.split('.');
    if (parts.length !== 3) return false;
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    const jwk = await this.jwk();
    try {
      const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8'));
      if (header.alg !== 'ES256' || header.kid !== jwk.kid) return false;
      const verifier = createVerify('SHA256');
      verifier.update(`${headerPart}.${payloadPart}`);
      return verifier.verify({ key: createPublicKey({ key: { ...jwk }, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(signaturePart, 'base64url'));
    } catch {
      return false;
    }
  }

  private async loadJwk(): Promise<PublicJwk> {
    const { PublicKey, KeyId } = await countingKmsErrors(this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyId })));
    if (!PublicKey) throw new Error('KMS returned no public key');
    const jwk = createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    const kid = kidOf(KeyId ?? this.keyId);
    return { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y), kid, alg: 'ES256', use: 'sig' };
  }
}

/** A failed KMS call (after the client's retries) is a metric of its own: a disabled key or a throttle stops signing. */
async function countingKmsErrors<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    count(METRIC.kmsErrors);
    throw error;
  }
}

/** The bare key id of a key id or key ARN (`arn:aws:kms:…:key/<id>`). */
function kidOf(keyId: string): string {
  return keyId.split('/').pop() || keyId;
}

import { createSign, generateKeyPairSync } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KmsJwsSigner } from '../../shared/store/signer.js';

/**
 * KMS is mocked with a real P-256 key held by the test: Sign answers DER exactly as KMS does,
 * so the JWS the signer builds must verify with a standard JOSE library against its JWK.
 */
describe('KmsJwsSigner', () => {
  const kms = mockClient(KMSClient);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  beforeEach(() => {
    kms.reset();
    kms.on(GetPublicKeyCommand).resolves({ KeyId: 'arn:aws:kms:us-east-1:000000000000:key/1234-abcd', PublicKey: publicKey.export({ format: 'der', type: 'spki' }) });
    kms.on(SignCommand).callsFake((input: { Message: Uint8Array; SigningAlgorithm: string; MessageType: string }) => {
      expect(input.SigningAlgorithm).toBe('ECDSA_SHA_256');
      expect(input.MessageType).toBe('RAW');
      const signer = createSign('SHA256');
      signer.update(Buffer.from(input.Message));
      return { Signature: signer.sign({ key: privateKey, dsaEncoding: 'der' }) };
    });
  });

  afterEach(() => kms.reset());

  it('produces compact ES256 JWS that jose verifies with the published JWK', async () => {
    const signer = new KmsJwsSigner(new KMSClient({ region: 'us-east-1' }), 'alias/signing');
    const jwk = await signer.jwk();
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: '1234-abcd' });
    // Many signatures: DER integers vary in length (leading zeros, sign bytes), the JOSE form never does.
    for (let i = 0; i < 50; i += 1) {
      const jws = await signer.sign('flashline-ticket+jwt', { iss: 'flashline', n: i });
      expect(decodeProtectedHeader(jws)).toEqual({ alg: 'ES256', kid: '1234-abcd', typ: 'flashline-ticket+jwt' });
      const { payload } = await compactVerify(jws, createLocalJWKSet({ keys: [jwk] }));
      expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ iss: 'flashline', n: i });
      expect(await signer.verify(jws)).toBe(true);
    }
  });

  it('rejects a JWS whose payload was changed, and asks KMS for the public key only once', async () => {
    const signer = new KmsJwsSigner(new KMSClient({ region: 'us-east-1' }), 'alias/signing');
    const jws = await signer.sign('flashline-binding+jwt', { acct: 'a' });
    const [header, , signature] = jws.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ acct: 'b' })).toString('base64url')}.${signature}`;
    expect(await signer.verify(forged)).toBe(false);
    expect(await signer.verify('not.a.jws')).toBe(false);
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
  });
});

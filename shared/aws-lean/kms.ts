import type * as Sdk from '@aws-sdk/client-kms';
import { type LeanClientConfig, JsonProtocolClient, base64ToBytes, bytesToBase64 } from './json-protocol.js';

/**
 * The part of `@aws-sdk/client-kms` that shared/store/signer.ts and account-data-keys.ts use (Sign, GetPublicKey, Decrypt) over
 * the lean JSON-protocol call (json-protocol.ts), aliased in place of the SDK in the device-api
 * bundle only. KMS's JSON carries blobs as base64; the SDK hands them over as bytes both ways,
 * so each command names its blob members. Other KMS commands are not here: importing one fails
 * the device bundle's build.
 */
abstract class KmsCommand<Input extends object, Output extends object> {
  abstract readonly operation: string;
  /** Blob members of the input and of the output (base64 on the wire). */
  protected abstract readonly blobsIn: readonly string[];
  protected abstract readonly blobsOut: readonly string[];
  constructor(readonly input: Input) {}

  toWire(): Record<string, unknown> {
    const wire = { ...this.input } as Record<string, unknown>;
    for (const name of this.blobsIn) if (wire[name] instanceof Uint8Array) wire[name] = bytesToBase64(wire[name]);
    return wire;
  }

  fromWire(output: Record<string, unknown>): Output {
    const native = { ...output };
    for (const name of this.blobsOut) if (typeof native[name] === 'string') native[name] = base64ToBytes(native[name]);
    return native as Output;
  }
}

export class SignCommand extends KmsCommand<Sdk.SignCommandInput, Sdk.SignCommandOutput> {
  readonly operation = 'Sign';
  protected readonly blobsIn = ['Message'];
  protected readonly blobsOut = ['Signature'];
}

export class GetPublicKeyCommand extends KmsCommand<Sdk.GetPublicKeyCommandInput, Sdk.GetPublicKeyCommandOutput> {
  readonly operation = 'GetPublicKey';
  protected readonly blobsIn = [];
  protected readonly blobsOut = ['PublicKey'];
}

/** The account data keys of data lists (store/account-data-keys.ts) are opened here. */
export class DecryptCommand extends KmsCommand<Sdk.DecryptCommandInput, Sdk.DecryptCommandOutput> {
  readonly operation = 'Decrypt';
  protected readonly blobsIn = ['CiphertextBlob'];
  protected readonly blobsOut = ['Plaintext'];
}

type OutputOf<C> = C extends KmsCommand<object, infer O> ? O : never;

export class KMSClient {
  readonly protocol: JsonProtocolClient;
  constructor(config: LeanClientConfig = {}) {
    this.protocol = new JsonProtocolClient({ signingName: 'kms', targetPrefix: 'TrentService', jsonVersion: '1.1' }, config);
  }

  async send<C extends KmsCommand<object, object>>(command: C): Promise<OutputOf<C>> {
    return command.fromWire(await this.protocol.call(command.operation, JSON.stringify(command.toWire()))) as OutputOf<C>;
  }

  destroy(): void {}
}

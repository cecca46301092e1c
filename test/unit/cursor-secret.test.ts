import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { secretsManagerCursorKey } from '../../shared/store/cursor-secret.js';
import { HmacCursorCodec } from '../../shared/store/cursors.js';

const secrets = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:cursor-key';

describe('the cursor key from Secrets Manager', () => {
  afterEach(() => secrets.reset());

  it('is read once, on the first cursor, and cursors from two containers with the same secret agree', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: 'k'.repeat(64) });
    const one = new HmacCursorCodec(secretsManagerCursorKey(ARN, new SecretsManagerClient({ region: 'us-east-1' })));
    const other = new HmacCursorCodec(secretsManagerCursorKey(ARN, new SecretsManagerClient({ region: 'us-east-1' })));
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    const cursor = await one.seal('L', 'FAC#fac_1');
    await one.seal('L', 'FAC#fac_2');
    await expect(other.open('L', cursor)).resolves.toBe('FAC#fac_1');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('refuses a secret too short to be a key (a misconfigured stack fails loudly, not with weak cursors)', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'short' });
    const codec = new HmacCursorCodec(secretsManagerCursorKey(ARN, new SecretsManagerClient({ region: 'us-east-1' })));
    await expect(codec.seal('L', 'FAC#fac_1')).rejects.toThrow('no usable cursor key');
  });
});

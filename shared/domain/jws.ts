/**
 * Compact JWS (ES256) encoding, pure. KMS signs; this module only shapes bytes: the signing
 * input, and the conversion of KMS's DER ECDSA signature into JOSE's fixed 64-byte r||s form.
 */
export interface JwsHeader {
  alg: 'ES256';
  kid: string;
  typ: string;
  /** A session-key ticket carries the root-signed certificate of the key that signed it (api.md v1.1). */
  crt?: string;
}

export function base64url(input: Uint8Array | string): string {
  return Buffer.from(input).toString('base64url');
}

export function signingInput(header: JwsHeader, payload: Record<string, unknown>): string {
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
}

/** DER `SEQUENCE { INTEGER r, INTEGER s }` → 32-byte r || 32-byte s (RFC 7518 §3.4). */
export function derToJoseSignature(der: Uint8Array, size = 32): Buffer {
  const bytes = Buffer.from(der);
  let offset = 0;
  const expect = (tag: number) => {
    if (bytes[offset] !== tag) throw new Error(`Malformed DER signature: expected tag 0x${tag.toString(16)} at ${offset}`);
    offset += 1;
  };
  const readLength = (): number => {
    const first = bytes[offset++];
    if (first === undefined) throw new Error('Malformed DER signature: truncated');
    if (first < 0x80) return first;
    const count = first & 0x7f;
    let length = 0;
    for (let i = 0; i < count; i += 1) length = (length << 8) | (bytes[offset++] ?? 0);
    return length;
  };
  const readInteger = (): Buffer => {
    expect(0x02);
    const length = readLength();
    let value = bytes.subarray(offset, offset + length);
    offset += length;
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    if (value.length > size) throw new Error('Malformed DER signature: integer too long');
    return Buffer.concat([Buffer.alloc(size - value.length), value]);
  };
  expect(0x30);
  const sequenceLength = readLength();
  if (sequenceLength !== bytes.length - offset) throw new Error('Malformed DER signature: bad sequence length');
  const r = readInteger();
  const s = readInteger();
  return Buffer.concat([r, s]);
}

export function decodeJwsPayload(jws: string): Record<string, unknown> | undefined {
  const parts = jws.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null ? payload : undefined;
  } catch {
    return undefined;
  }
}

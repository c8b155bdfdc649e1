/** The SigV4 region helpers the DynamoDB proxy and the local Secrets Manager share. */
import { describe, expect, it } from 'vitest';
import { signedRegion, withSignedRegion } from '../../../local/sigv4.js';

describe('SigV4 region', () => {
  const header =
    'AWS4-HMAC-SHA256 Credential=local/20260101/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc';
  it('reads and rewrites the region of the credential scope', () => {
    expect(signedRegion(header)).toBe('eu-west-1');
    expect(signedRegion(withSignedRegion(header, 'us-east-1'))).toBe('us-east-1');
    expect(signedRegion(undefined)).toBeUndefined();
  });
});

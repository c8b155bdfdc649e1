/**
 * The region of a SigV4 signature: DynamoDB Local keys its databases by the region a request was
 * signed for, so the DynamoDB proxy reads it and rewrites it (strong mode), and the local Secrets
 * Manager reads it to answer from that region's secrets. On their own so that both import them
 * without importing each other.
 */

/** The region a SigV4-signed request was signed for (`Credential=<key>/<date>/<region>/...`). */
export const signedRegion = (authorization: string | undefined): string | undefined =>
  /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(authorization ?? '')?.[1];

/** Rewrites the region of a SigV4 `Authorization` header (DynamoDB Local keys its databases by it). */
export const withSignedRegion = (authorization: string, region: string): string =>
  authorization.replace(/(Credential=[^/]+\/\d{8}\/)([^/]+)(\/)/, `$1${region}$3`);

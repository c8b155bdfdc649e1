/**
 * The AWS credentials of a bundled handler: a stand-in for `@aws-sdk/credential-provider-node`.
 *
 * Every SDK client's Node.js runtime config imports `defaultProvider` from that package, so the
 * SDK's whole default chain (shared config files, SSO, web identity, credential processes, instance
 * metadata, and the STS and SSO clients they call: about 110 KB) lands in every bundle even when a
 * client is given credentials. The handler bundles alias the package to this module (see
 * `lib/constructs/handler-bundling.ts`), which exports the one name the clients import from it,
 * `defaultProvider`.
 *
 * A Lambda function has its execution role's credentials in its environment (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and so do the local stack's handlers. The chain
 * here reads those, then a container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` or
 * `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`) for runtimes that serve the role's credentials over
 * HTTP instead. Profiles, SSO and instance metadata are not available to a bundled handler.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { CredentialsProviderError, chain } from '@smithy/core/config';

/** What an SDK client passes to its credential provider (its logger among others). */
export type LambdaCredentialsInit = NonNullable<Parameters<typeof fromHttp>[0]>;

type Credentials = Awaited<ReturnType<ReturnType<typeof fromEnv>>>;

const CONTAINER_FULL_URI = 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
const CONTAINER_RELATIVE_URI = 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI';

/** The failure when neither source is configured. */
const NO_CREDENTIALS_MESSAGE =
  'No AWS credentials: the handler expects the credentials Lambda puts in its environment ' +
  '(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, with AWS_SESSION_TOKEN) or a container ' +
  `credentials endpoint (${CONTAINER_FULL_URI} or ${CONTAINER_RELATIVE_URI}), and neither is set. ` +
  'Profiles, SSO and instance metadata are not bundled.';

/**
 * The container endpoint when one is configured; otherwise the final failure. A configured
 * endpoint that fails reports its own error.
 */
const fromContainer = (init: LambdaCredentialsInit) => async (): Promise<Credentials> => {
  if (!process.env[CONTAINER_FULL_URI] && !process.env[CONTAINER_RELATIVE_URI]) {
    throw new CredentialsProviderError(NO_CREDENTIALS_MESSAGE, { tryNextLink: false, logger: init.logger });
  }
  return fromHttp(init)();
};

/** Credentials that expire within five minutes are refreshed, as the SDK's default chain does. */
const REFRESH_WINDOW_MS = 300_000;

/**
 * Memoizes `resolve` the way the SDK's default chain does: credentials are resolved once and
 * shared by concurrent callers; within five minutes of their expiration they are still returned
 * while fresh ones are fetched in the background (a failure there is ignored); once expired, or
 * with `forceRefresh`, callers wait for fresh ones.
 */
const memoizeCredentials = (resolve: () => Promise<Credentials>) => {
  let credentials: Credentials | undefined;
  let pending: Promise<Credentials> | undefined;
  const refresh = (): Promise<Credentials> => {
    pending ??= resolve()
      .then((fresh) => {
        credentials = fresh;
        return fresh;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  return async (options?: { forceRefresh?: boolean }): Promise<Credentials> => {
    const expiresAt = credentials?.expiration?.getTime();
    if (
      options?.forceRefresh ||
      credentials === undefined ||
      (expiresAt !== undefined && expiresAt < Date.now())
    )
      return refresh();
    if (expiresAt !== undefined && expiresAt - Date.now() < REFRESH_WINDOW_MS && pending === undefined)
      refresh().catch(() => undefined);
    return credentials;
  };
};

/**
 * The provider each SDK client creates (one per client, resolved on its first request): the
 * environment, then the container endpoint, memoized as {@link memoizeCredentials} describes.
 */
export const defaultProvider = (init: LambdaCredentialsInit = {}) =>
  memoizeCredentials(chain(fromEnv(init), fromContainer(init)));

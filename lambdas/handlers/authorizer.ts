/**
 * The `$connect` REQUEST authorizer (identity source `route.request.querystring.token`).
 * See `lambdas/shared/auth.ts` for the rules.
 */
import middy from '@middy/core';
import { type AuthorizerEvent, type AuthorizerResult, authorize } from '../shared/auth.js';
import { secrets } from '../shared/clients.js';
import { baseMiddlewares } from '../shared/route.js';
import { createVerifier, loadAuthConfig, type Verifier } from '../shared/tokens.js';

// One verifier per container: it caches the secret or the JWKS between connections.
let verifier: Verifier | undefined;

/** The authorizer. */
export const handler = middy<AuthorizerEvent, AuthorizerResult>()
  .use(baseMiddlewares())
  .handler((event) => {
    verifier ??= createVerifier(loadAuthConfig(), { secrets: secrets() });
    return authorize(event, verifier);
  });

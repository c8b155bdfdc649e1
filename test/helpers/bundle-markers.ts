/**
 * What a handler bundle shows of its credential provider: the handlers' own (by its error message)
 * or the SDK's default chain (by its own log line and the STS client it carries for web identity).
 * Shared by the local-bundle and the `cdk synth` bundling tests, which expect the same answer.
 */
export const credentialMarkers = (code: string) => ({
  ownProvider: code.includes('the handler expects the credentials Lambda puts in its environment'),
  defaultChain: code.includes('@aws-sdk/credential-provider-node - defaultProvider'),
  stsClient: code.includes('AssumeRoleWithWebIdentity'),
});

/** The markers of a bundle built as the handlers are: own provider in, default chain out. */
export const HANDLER_CREDENTIALS = { ownProvider: true, defaultChain: false, stsClient: false } as const;

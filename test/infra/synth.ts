import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { createParleyApp, type ParleyApp } from '../../lib/app.js';
import type { RegionalStack } from '../../lib/stacks/regional-stack.js';

/** Context that skips esbuild bundling: the infra tests assert templates, not bundles. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

/** Example domain values (a documentation zone id and name). */
export const EXAMPLE_DOMAIN = {
  domainName: 'chat.example.com',
  hostedZoneId: 'Z0123456789EXAMPLE',
  hostedZoneName: 'example.com',
} as const;

/** The configurations the infra tests and scripts/check-templates.sh synthesize. */
export const CONFIGURATIONS = {
  default: {},
  domain: { ...EXAMPLE_DOMAIN },
  latency: { ...EXAMPLE_DOMAIN, routing: 'latency' },
  strong: { consistency: 'strong', regions: 'us-east-1,us-east-2,us-west-2' },
  witness: { consistency: 'strong', regions: 'us-east-1,us-east-2', witnessRegion: 'us-west-2' },
  jwks: {
    auth: 'jwks',
    jwksUrl: 'https://issuer.example.com/.well-known/jwks.json',
    jwtIssuer: 'https://issuer.example.com/',
    jwtAudience: 'parley',
  },
} as const satisfies Record<string, Record<string, unknown>>;

/** A synthesized app: its stacks and their templates by region. */
export interface Synthesized extends ParleyApp {
  /** The template of each region's stack. */
  readonly templates: ReadonlyMap<string, Template>;
}

/** `cdk.json`'s context, which the CDK CLI passes to the app: the tests see what `cdk synth` sees. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

/**
 * Creates the app with `cdk.json`'s context overridden by `context` (as `-c` would), bundling
 * skipped, and synthesizes every stack once.
 */
export function synth(context: Record<string, unknown> = {}): Synthesized {
  const parley = createParleyApp({ context: { ...CDK_JSON_CONTEXT, ...SKIP_BUNDLING, ...context } });
  const templates = new Map<string, Template>();
  for (const [region, stack] of parley.stacks) templates.set(region, Template.fromStack(stack));
  return { ...parley, templates };
}

/** The stack of `region`, or a failure naming it. */
export function stackOf(app: Synthesized, region: string): RegionalStack {
  const stack = app.stacks.get(region);
  if (stack === undefined) throw new Error(`no stack for ${region}`);
  return stack;
}

/** The template of `region`, or a failure naming it. */
export function templateOf(app: Synthesized, region: string): Template {
  const template = app.templates.get(region);
  if (template === undefined) throw new Error(`no template for ${region}`);
  return template;
}

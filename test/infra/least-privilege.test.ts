/**
 * Least privilege, checked against the code: each function's IAM actions are exactly what its
 * bundle sends (the SDK commands its own code constructs, `test/helpers/bundle-commands.ts`), plus
 * what Lambda itself does with the function's role for its event source mapping, plus its logs.
 * A grant no code uses fails here, and so does a call no grant allows.
 */

import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEPLOY_HANDLER_NAMES, HANDLER_NAMES } from '../../lib/constructs/parley-function.js';
import { commandsSentBy } from '../helpers/bundle-commands.js';
import { CONFIGURATIONS, synth, templateOf } from './synth.js';

/** The IAM actions each SDK command needs. */
const ACTIONS_OF_COMMAND: Readonly<Record<string, readonly string[]>> = {
  GetCommand: ['dynamodb:GetItem'],
  PutCommand: ['dynamodb:PutItem'],
  UpdateCommand: ['dynamodb:UpdateItem'],
  DeleteCommand: ['dynamodb:DeleteItem'],
  QueryCommand: ['dynamodb:Query'],
  BatchGetCommand: ['dynamodb:BatchGetItem'],
  ScanCommand: ['dynamodb:Scan'],
  // TransactWriteItems has no action of its own: each item needs its own. Parley's one transaction
  // (storeMessageEventual) puts the claim and the message and updates the counter.
  TransactWriteCommand: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
  DescribeTableCommand: ['dynamodb:DescribeTable'],
  GetRecordsCommand: ['dynamodb:GetRecords'],
  GetShardIteratorCommand: ['dynamodb:GetShardIterator'],
  DescribeStreamCommand: ['dynamodb:DescribeStream'],
  PostToConnectionCommand: ['execute-api:ManageConnections'],
  GetConnectionCommand: ['execute-api:ManageConnections'],
  DeleteConnectionCommand: ['execute-api:ManageConnections'],
  SendMessageCommand: ['sqs:SendMessage'],
  SendMessageBatchCommand: ['sqs:SendMessage'],
  ReceiveMessageCommand: ['sqs:ReceiveMessage'],
  DeleteMessageCommand: ['sqs:DeleteMessage'],
  GetSecretValueCommand: ['secretsmanager:GetSecretValue'],
  ListSecretsCommand: ['secretsmanager:ListSecrets'],
  DescribeStackResourceCommand: ['cloudformation:DescribeStackResource'],
};

/** Every function writes its own log group. */
const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
/**
 * What Lambda's pollers do with the function's role: a DynamoDB stream mapping reads the stream
 * (the actions of the AWSLambdaDynamoDBExecutionRole policy), an SQS mapping receives and deletes
 * (the actions CDK's SqsEventSource grants), an on-failure SQS destination sends (CDK's SqsDlq).
 */
const STREAM_MAPPING = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
];
const SQS_MAPPING = [
  'sqs:ReceiveMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueUrl',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
];
const ON_FAILURE_QUEUE = ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'];

// biome-ignore lint/suspicious/noExplicitAny: a synthesized template is untyped JSON.
type Json = any;
type Resources = Record<
  string,
  { Type: string; Properties: Record<string, Json>; Metadata?: Record<string, Json> }
>;

const refOf = (value: unknown): string | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const node = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return node.Ref ?? node['Fn::GetAtt']?.[0];
};

/** The actions every policy attached to `roleId` grants. */
const grantedTo = (resources: Resources, roleId: string): Set<string> => {
  const granted = new Set<string>();
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    if (!(resource.Properties.Roles as unknown[]).some((role) => refOf(role) === roleId)) continue;
    for (const statement of resource.Properties.PolicyDocument.Statement) {
      for (const action of [statement.Action].flat()) granted.add(action);
    }
  }
  return granted;
};

/** What Lambda does with a function's role for the mappings that feed it. */
const mappingActions = (resources: Resources, functionId: string): string[] =>
  Object.values(resources)
    .filter(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && refOf(r.Properties.FunctionName) === functionId,
    )
    .flatMap((mapping) => {
      const source = resources[refOf(mapping.Properties.EventSourceArn) ?? ''];
      return [
        ...(source?.Type === 'AWS::SQS::Queue' ? SQS_MAPPING : STREAM_MAPPING),
        ...(mapping.Properties.DestinationConfig?.OnFailure === undefined ? [] : ON_FAILURE_QUEUE),
      ];
    });

const sentCache = new Map<string, Promise<Set<string>>>();
const sent = (entry: string): Promise<Set<string>> => {
  let commands = sentCache.get(entry);
  if (commands === undefined) {
    commands = commandsSentBy(entry);
    sentCache.set(entry, commands);
  }
  return commands;
};

/** One row per function of a template: its handler, what it is granted and what it needs. */
const functionsOf = async (template: Template) => {
  const resources = template.toJSON().Resources as Resources;
  const rows: { handler: string; granted: string[]; needed: string[]; unknown: string[] }[] = [];
  for (const [id, fn] of Object.entries(resources)) {
    if (fn.Type !== 'AWS::Lambda::Function' || typeof fn.Metadata?.['parley:entry'] !== 'string') continue;
    const handler = fn.Metadata['parley:handler'] as string;
    let commands = [...(await sent(fn.Metadata['parley:entry']))];
    if (handler === 'deploy-check') {
      // The preflight runs only where the stack creates the table; elsewhere the function is
      // only ever asked for the stream ARN.
      const preflight = Object.values(resources).find((r) => r.Type === 'Custom::ParleyPreflight');
      if (preflight === undefined) commands = commands.filter((c) => c === 'DescribeTableCommand');
      else if (preflight.Properties.SecretName === undefined)
        commands = commands.filter((c) => c !== 'ListSecretsCommand');
    }
    const needed = new Set([
      ...LOGS,
      ...commands.flatMap((command) => ACTIONS_OF_COMMAND[command] ?? []),
      ...mappingActions(resources, id),
    ]);
    rows.push({
      handler,
      granted: [...grantedTo(resources, refOf(fn.Properties.Role) as string)].sort(),
      needed: [...needed].sort(),
      unknown: commands.filter((command) => ACTIONS_OF_COMMAND[command] === undefined),
    });
  }
  return rows;
};

describe('App: each function may do exactly what its code does', () => {
  const app = synth(CONFIGURATIONS.default);
  const baseline = synth({ sendDesign: 'baseline' });

  it.each(['us-east-1', 'eu-west-1'])(
    '%s',
    async (region) => {
      const rows = await functionsOf(templateOf(app, region));
      expect(rows.map((row) => row.handler).sort()).toEqual(
        [...HANDLER_NAMES, ...DEPLOY_HANDLER_NAMES].sort(),
      );
      for (const row of rows) {
        expect({ handler: row.handler, unknownCommands: row.unknown }).toEqual({
          handler: row.handler,
          unknownCommands: [],
        });
        expect({ handler: row.handler, actions: row.granted }).toEqual({
          handler: row.handler,
          actions: row.needed,
        });
      }
    },
    60_000,
  );

  it("the benchmarks' baseline send may Scan, as its code does, and nothing it does not do", async () => {
    const rows = await functionsOf(templateOf(baseline, 'us-east-1'));
    const row = rows.find((candidate) => candidate.handler === 'baseline-send');
    expect(row?.granted).toContain('dynamodb:Scan');
    expect(row?.granted).toEqual(row?.needed);
  }, 60_000);

  it('finds the commands a handler sends, and only those', async () => {
    // The health check reads one key; ping also updates its connection and replies.
    expect([...(await sent('lambdas/handlers/health.ts'))]).toEqual(['GetCommand']);
    expect(await sent('lambdas/handlers/ping.ts')).toContain('UpdateCommand');
    expect(await sent('lambdas/handlers/ping.ts')).toContain('PostToConnectionCommand');
    expect(await sent('lambdas/handlers/ping.ts')).not.toContain('TransactWriteCommand');
  });
});

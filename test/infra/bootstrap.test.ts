/**
 * `npm run bootstrap`: every region the synthesized app deploys into (its stacks' regions, its
 * table's replicas and witness) gets a CDK bootstrap, and nothing else does.
 */
import { describe, expect, it } from 'vitest';
import { deployRegions } from '../../lib/config.js';
import { runProcess } from '../helpers/process.js';
import { CONFIGURATIONS, synth, templateOf } from './synth.js';

/** The regions a synthesized app touches: its stacks, and its table's replicas and witnesses. */
const regionsOf = (app: ReturnType<typeof synth>): string[] => {
  const regions = new Set(app.stacks.keys());
  const table = Object.values(
    templateOf(app, app.config.primaryRegion).findResources('AWS::DynamoDB::GlobalTable'),
  )[0];
  for (const replica of table?.Properties.Replicas ?? []) regions.add(replica.Region);
  for (const witness of table?.Properties.GlobalTableWitnesses ?? []) regions.add(witness.Region);
  return [...regions].sort();
};

describe('Bootstrap: the regions of every configuration', () => {
  it.each(['default', 'strong', 'witness'] as const)('%s', (name) => {
    const app = synth(CONFIGURATIONS[name]);
    expect([...deployRegions(app.config)].sort()).toEqual(regionsOf(app));
  });

  it('npm run bootstrap names each of them, witness included, and passes cdk options on', async () => {
    const result = await runProcess('npx', [
      'tsx',
      'scripts/bootstrap.ts',
      '123456789012',
      '-c',
      'consistency=strong',
      '-c',
      'regions=us-east-1,us-east-2',
      '-c',
      'witnessRegion=us-west-2',
      '--dry-run',
      '--',
      '--profile',
      'admin',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(
      'cdk bootstrap aws://123456789012/us-east-1 aws://123456789012/us-east-2 aws://123456789012/us-west-2 -c consistency=strong -c regions=us-east-1,us-east-2 -c witnessRegion=us-west-2 --profile admin',
    );
  });

  it('refuses a bad account id and a setting the app refuses, with exit code 2', async () => {
    const account = await runProcess('npx', ['tsx', 'scripts/bootstrap.ts', '1234', '--dry-run']);
    expect(account.code).toBe(2);
    expect(account.stderr).toContain('the 12-digit AWS account id, got "1234"');
    const setting = await runProcess('npx', [
      'tsx',
      'scripts/bootstrap.ts',
      '123456789012',
      '-c',
      'regions=us-east-1',
      '--dry-run',
    ]);
    expect(setting.code).toBe(2);
    expect(setting.stderr).toContain('Parley: Invalid context value for "regions"');
  });
});

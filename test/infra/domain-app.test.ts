import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CONFIGURATIONS, synth, templateOf } from './synth.js';

const failover = synth({ ...CONFIGURATIONS.domain, regions: 'us-east-1,eu-west-1,ap-southeast-2' });
const latency = synth(CONFIGURATIONS.latency);

function healthApiId(template: Template): string {
  const id = Object.keys(
    template.findResources('AWS::ApiGatewayV2::Api', { Properties: { ProtocolType: 'HTTP' } }),
  )[0];
  if (id === undefined) throw new Error('no health API');
  return id;
}

function globalRecords(template: Template): Array<Record<string, unknown>> {
  return Object.values(
    template.findResources('AWS::Route53::RecordSet', { Properties: { Name: 'chat.example.com.' } }),
  ).map((record) => record.Properties as Record<string, unknown>);
}

describe('App: custom domain', () => {
  const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];

  it.each(regions)('%s: its own DNS-validated certificate for the global and the regional name', (region) => {
    const template = templateOf(failover, region);
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'chat.example.com',
      SubjectAlternativeNames: [`${region}.chat.example.com`],
      ValidationMethod: 'DNS',
      DomainValidationOptions: Match.arrayWith([
        { DomainName: 'chat.example.com', HostedZoneId: 'Z0123456789EXAMPLE' },
      ]),
    });
  });

  it.each(regions)('%s: regional custom domains mapped to the WebSocket stage', (region) => {
    const template = templateOf(failover, region);
    for (const name of ['chat.example.com', `${region}.chat.example.com`]) {
      template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
        DomainName: name,
        DomainNameConfigurations: [Match.objectLike({ EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' })],
      });
    }
    const webSocketApi = Object.keys(
      template.findResources('AWS::ApiGatewayV2::Api', { Properties: { ProtocolType: 'WEBSOCKET' } }),
    )[0];
    const mappings = Object.values(template.findResources('AWS::ApiGatewayV2::ApiMapping'));
    expect(mappings).toHaveLength(2);
    for (const mapping of mappings) {
      expect(mapping.Properties.ApiId).toEqual({ Ref: webSocketApi });
      expect(mapping.Properties.Stage).toBe('prod');
      expect(mapping.Properties.ApiMappingKey).toBe('prod');
      // The mapping names the stage by its name, so it must wait for the stage to exist.
      expect(mapping.DependsOn).toEqual([expect.stringMatching(/^WebSocketStage/)]);
    }
  });

  it.each(regions)("%s: a Route 53 HTTPS health check on the region's GET /health", (region) => {
    const template = templateOf(failover, region);
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: {
        Type: 'HTTPS',
        FullyQualifiedDomainName: {
          'Fn::Join': [
            '',
            [{ Ref: healthApiId(template) }, `.execute-api.${region}.`, { Ref: 'AWS::URLSuffix' }],
          ],
        },
        Port: 443,
        ResourcePath: '/health',
        EnableSNI: true,
        RequestInterval: 10,
        FailureThreshold: 3,
      },
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: `${region}.chat.example.com.`,
      Type: 'A',
      HostedZoneId: 'Z0123456789EXAMPLE',
      AliasTarget: Match.objectLike({ DNSName: Match.anyValue() }),
    });
  });

  it('failover: the first region is PRIMARY and the second SECONDARY, each with its health check', () => {
    for (const [region, role] of [
      ['us-east-1', 'PRIMARY'],
      ['eu-west-1', 'SECONDARY'],
    ] as const) {
      const template = templateOf(failover, region);
      const healthCheck = Object.keys(template.findResources('AWS::Route53::HealthCheck'))[0];
      const records = globalRecords(template);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        Type: 'A',
        HostedZoneId: 'Z0123456789EXAMPLE',
        Failover: role,
        SetIdentifier: region,
        HealthCheckId: { Ref: healthCheck },
      });
      expect(records[0]?.AliasTarget).toMatchObject({ EvaluateTargetHealth: true });
    }
    // A third region serves its own hostname only.
    expect(globalRecords(templateOf(failover, 'ap-southeast-2'))).toEqual([]);
  });

  it('latency: every region has a latency record with its health check', () => {
    for (const region of ['us-east-1', 'eu-west-1']) {
      const template = templateOf(latency, region);
      const healthCheck = Object.keys(template.findResources('AWS::Route53::HealthCheck'))[0];
      const records = globalRecords(template);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        Region: region,
        SetIdentifier: region,
        HealthCheckId: { Ref: healthCheck },
      });
      expect(records[0]?.Failover).toBeUndefined();
    }
  });

  it('outputs the global and regional endpoints', () => {
    const template = templateOf(failover, 'eu-west-1');
    template.hasOutput('GlobalEndpoint', { Value: 'wss://chat.example.com/prod' });
    template.hasOutput('RegionalEndpoint', { Value: 'wss://eu-west-1.chat.example.com/prod' });
  });
});

import { Duration, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import type { DomainConfig } from '../config.js';
import { HEALTH_PATH } from './health-api.js';

/** Properties of a {@link Dns}. */
export interface DnsProps {
  /** The global hostname and its hosted zone. */
  readonly domain: DomainConfig;
  /** How the global hostname routes between regions. */
  readonly routing: 'failover' | 'latency';
  /**
   * This region's place in the configured region list: 0 is the failover PRIMARY, 1 the SECONDARY.
   * With failover routing, regions after the second serve only their regional hostname.
   */
  readonly regionIndex: number;
  /** The region's WebSocket API. */
  readonly webSocketApi: apigwv2.IWebSocketApi;
  /** The WebSocket stage the custom domains map to. */
  readonly stage: apigwv2.IWebSocketStage;
  /** The execute-api host of the region's health HTTP API. */
  readonly healthHost: string;
}

/** The hostname of one region's own endpoint: `<region>.<domainName>`. */
export function regionalHostname(region: string, domainName: string): string {
  return `${region}.${domainName}`;
}

/**
 * The custom domain of one region, built without cross-region references: its own ACM certificate
 * (DNS-validated in the hosted zone) for the global hostname and the region's own hostname, a
 * regional API Gateway custom domain for each, a Route 53 health check on the region's
 * `GET /health`, an alias record for the regional hostname, and this region's record of the global
 * hostname: failover (PRIMARY for the first region, SECONDARY for the second) or latency, each with
 * the region's health check.
 */
export class Dns extends Construct {
  /** The Route 53 health check of this region. */
  public readonly healthCheck: route53.HealthCheck;
  /** The certificate. */
  public readonly certificate: acm.Certificate;
  /** This region's record of the global hostname, when it has one. */
  public readonly globalRecord?: route53.ARecord;

  public constructor(scope: Construct, id: string, props: DnsProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    const { domainName, hostedZoneId, hostedZoneName } = props.domain;
    const regionalName = regionalHostname(region, domainName);
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId,
      zoneName: hostedZoneName,
    });

    this.certificate = new acm.Certificate(this, 'Certificate', {
      domainName,
      subjectAlternativeNames: [regionalName],
      validation: acm.CertificateValidation.fromDns(zone),
    });

    const globalDomain = new apigwv2.DomainName(this, 'GlobalDomain', {
      domainName,
      certificate: this.certificate,
      endpointType: apigwv2.EndpointType.REGIONAL,
      securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
    });
    const regionalDomain = new apigwv2.DomainName(this, 'RegionalDomain', {
      domainName: regionalName,
      certificate: this.certificate,
      endpointType: apigwv2.EndpointType.REGIONAL,
      securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
    });
    // Mapped under the stage's name, so a custom-domain URL has the same shape as the
    // execute-api one: wss://<host>/<stage>.
    new apigwv2.ApiMapping(this, 'GlobalMapping', {
      api: props.webSocketApi,
      domainName: globalDomain,
      stage: props.stage,
      apiMappingKey: props.stage.stageName,
    });
    new apigwv2.ApiMapping(this, 'RegionalMapping', {
      api: props.webSocketApi,
      domainName: regionalDomain,
      stage: props.stage,
      apiMappingKey: props.stage.stageName,
    });

    this.healthCheck = new route53.HealthCheck(this, 'HealthCheck', {
      type: route53.HealthCheckType.HTTPS,
      fqdn: props.healthHost,
      port: 443,
      resourcePath: HEALTH_PATH,
      enableSNI: true,
      requestInterval: Duration.seconds(10),
      failureThreshold: 3,
    });

    new route53.ARecord(this, 'RegionalRecord', {
      zone,
      recordName: regionalName,
      target: route53.RecordTarget.fromAlias(
        new targets.ApiGatewayv2DomainProperties(
          regionalDomain.regionalDomainName,
          regionalDomain.regionalHostedZoneId,
        ),
      ),
    });

    // Route 53 requires failover alias records to evaluate the target's health too.
    const apiGatewayTarget = new targets.ApiGatewayv2DomainProperties(
      globalDomain.regionalDomainName,
      globalDomain.regionalHostedZoneId,
    );
    const globalTarget = route53.RecordTarget.fromAlias({
      bind: (record, zone) => ({ ...apiGatewayTarget.bind(record, zone), evaluateTargetHealth: true }),
    });
    if (props.routing === 'latency') {
      this.globalRecord = new route53.ARecord(this, 'GlobalRecord', {
        zone,
        recordName: domainName,
        target: globalTarget,
        region,
        setIdentifier: region,
        healthCheck: this.healthCheck,
      });
    } else if (props.regionIndex <= 1) {
      this.globalRecord = new route53.ARecord(this, 'GlobalRecord', {
        zone,
        recordName: domainName,
        target: globalTarget,
        failover: props.regionIndex === 0 ? route53.Failover.PRIMARY : route53.Failover.SECONDARY,
        setIdentifier: region,
        healthCheck: this.healthCheck,
      });
    }
  }
}

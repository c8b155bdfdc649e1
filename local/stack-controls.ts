/**
 * The running stack's controls, the same for tests (`LocalStack`) and for the global endpoint's
 * `/_local/...` API: simulated outages, fault injection, local tokens, and a region's Lambda
 * service by name.
 */
import {
  type FaultController,
  type FaultRequest,
  type FaultSettings,
  faultRequestSchema,
} from './fault-controller.js';
import type { RegionGateway } from './gateway.js';
import type { LambdaService } from './lambda-service.js';
import { signLocalToken } from './token.js';

/** What the controls act on. */
export interface ControlledParts {
  regions: readonly string[];
  /** The regions in a simulated outage (the mappings and the replicator read it). */
  outages: Set<string>;
  lambdas: Readonly<Record<string, LambdaService>>;
  gateways: Readonly<Record<string, RegionGateway>>;
  faults: FaultController;
  /** The key of the local tokens. */
  jwtSecret: string;
  log: (line: string) => void;
}

/** The controls of a running stack. */
export interface StackControls {
  /** Starts or ends a region's simulated outage. */
  setOutage(region: string, outage: boolean): Promise<void>;
  /** Sets standing faults (each kind given replaces that kind) and runs a one-shot `drop`. */
  injectFaults(request: FaultRequest): Promise<{ faults: FaultSettings; dropped: number }>;
  clearFaults(): void;
  /** Signs a local token. */
  token(user: string, expiresInSeconds?: number): Promise<string>;
  /** A region's Lambda service; throws for an unknown region. */
  lambdaOf(region: string): LambdaService;
}

/** The controls over `parts`. */
export const stackControls = (parts: ControlledParts): StackControls => {
  const { regions, outages, lambdas, gateways, faults, jwtSecret, log } = parts;
  return {
    setOutage: async (region, outage) => {
      if (!regions.includes(region)) throw new Error(`unknown region ${region}`);
      if (outage) outages.add(region);
      else outages.delete(region);
      await gateways[region]?.setOutage(outage);
      log(`[${region}] outage ${outage ? 'started' : 'ended'}`);
    },
    injectFaults: async (request) => {
      const { drop, ...standing } = faultRequestSchema.parse(request);
      if (drop?.region !== undefined && !regions.includes(drop.region))
        throw new Error(`unknown region ${drop.region}`);
      faults.set(standing);
      let dropped = 0;
      if (drop) {
        for (const [region, gateway] of Object.entries(gateways)) {
          if (drop.region !== undefined && drop.region !== region) continue;
          dropped += gateway.dropConnections((open) => faults.pick(open, drop));
        }
      }
      log(`[faults] ${JSON.stringify(request)} (dropped ${dropped})`);
      return { faults: faults.current(), dropped };
    },
    clearFaults: () => {
      faults.clear();
      log('[faults] cleared');
    },
    token: (user, expiresInSeconds) =>
      signLocalToken(user, {
        secret: jwtSecret,
        ...(expiresInSeconds !== undefined ? { expiresInSeconds } : {}),
      }),
    lambdaOf: (region) => {
      const lambda = lambdas[region];
      if (!lambda) throw new Error(`unknown region ${region}`);
      return lambda;
    },
  };
};

import type { ApiFlavour } from '../../infra/api-flavour.js';
import type { CostModelResult, Prices } from './cost-model.js';

/** Cost per million units of one flavour at one batch size: the same counted requests, that flavour's list price. */
export interface FlavourCost {
  flavour: ApiFlavour;
  batch: number;
  apiGatewayRequestsPerThousandUnits: number;
  apiGatewayPerMillionUnits: number;
  totalPerMillionUnits: number;
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;

/**
 * Both flavours make the same requests (the same client, routes and authorizer cache), so the
 * cost step's counts hold for both; only API Gateway's price per request differs.
 */
export function costByFlavour(cost: CostModelResult, prices: Prices): FlavourCost[] {
  const pricePerMillion: Record<ApiFlavour, number> = { http: prices.apiGateway.httpApiRequestsPerMillion, rest: prices.apiGateway.restApiRequestsPerMillion };
  return cost.batches.flatMap((batch) =>
    (['http', 'rest'] as const).map((flavour) => {
      const requests = batch.perThousandUnits.apiGatewayRequests;
      const apiGateway = (requests * 1000 * pricePerMillion[flavour]) / 1e6;
      const others = batch.costPerMillionUnits.total - batch.costPerMillionUnits.apiGateway;
      return { flavour, batch: batch.batch, apiGatewayRequestsPerThousandUnits: requests, apiGatewayPerMillionUnits: round(apiGateway), totalPerMillionUnits: round(others + apiGateway) };
    }),
  );
}

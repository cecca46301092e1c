/**
 * Which API Gateway fronts the functions (`-c apiFlavour=http|rest`). Both run the same
 * functions and the same handler chain (shared/http/http-event.ts reads both payload formats);
 * docs/api-gateway.md has the measurements behind the default.
 */
export const API_FLAVOURS = ['http', 'rest'] as const;
export type ApiFlavour = (typeof API_FLAVOURS)[number];

/** HTTP API: cheaper per request and faster on the emulator (docs/api-gateway.md). */
export const DEFAULT_API_FLAVOUR: ApiFlavour = 'http';

/** The REST API's one stage; its URLs are `…/{stage}/v1/…`. The HTTP API serves `$default`, with no segment. */
export const REST_STAGE_NAME = 'api';

export function parseApiFlavour(value: unknown): ApiFlavour {
  if (value === undefined || value === null || value === '') return DEFAULT_API_FLAVOUR;
  const flavour = String(value).trim().toLowerCase();
  if ((API_FLAVOURS as readonly string[]).includes(flavour)) return flavour as ApiFlavour;
  throw new Error(`apiFlavour=${String(value)} is not one of ${API_FLAVOURS.join(', ')}`);
}

/** The stage segment of the URL a flavour serves under (none for the HTTP API's `$default`). */
export function stageSegmentOf(flavour: ApiFlavour): string | undefined {
  return flavour === 'rest' ? REST_STAGE_NAME : undefined;
}

import type { BoundRoute } from '../../../shared/http/handler.js';

/** Device routes arrive with the images/jobs/protocol work; until then every device path is a JSON 404. */
export const deviceRoutes: BoundRoute[] = [];

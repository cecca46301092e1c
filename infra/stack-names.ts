/**
 * The two stacks of a deployment and the names that cross between them. Plain data (no CDK
 * import) so that the local harness and the admin scripts read the same names the app deploys.
 *
 * The stateful stack keeps the name the single stack had (`Flashline`) and the construct ids of
 * everything it holds, so an existing deployment's tables, bucket, keys and queue keep their
 * logical ids: updating it removes the functions and the API from it, and the stateless stack
 * creates them anew (README, "Updating a single-stack deployment").
 */
export const STACK_NAMES = {
  /** Tables, buckets, keys, the dead-letter queue, the console's bucket and CDN. */
  stateful: 'Flashline',
  /** Functions, API, dashboard, alarms and their topic. */
  stateless: 'FlashlineApi',
} as const;

/**
 * The roles allowed to kms:Sign with a root key. The key policy (stateful) must name its signer
 * before the role exists (stateless, deployed after it), so the role's name is fixed and the
 * key policy names it in a condition rather than by reference.
 */
export const SIGNER_FUNCTIONS = { binding: 'ManagementApi', ticket: 'DeviceAuthorizations' } as const;

/** The fixed role name of a signing function: unique per stateless stack (and so per deployment in an account). */
export function signerRoleName(statelessStackName: string, functionId: string): string {
  return `${statelessStackName}-${functionId}-signer`.slice(0, 64);
}

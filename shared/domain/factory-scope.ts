/**
 * How far a principal reaches inside its account: `factoryIds` absent = every factory (admins,
 * account-wide keys and people); present = only those (an empty list reaches none).
 */
export interface FactoryScope {
  factoryIds?: readonly string[];
}

export function seesFactory(scope: FactoryScope, factoryId: string | null | undefined): boolean {
  if (scope.factoryIds === undefined) return true;
  return typeof factoryId === 'string' && scope.factoryIds.includes(factoryId);
}

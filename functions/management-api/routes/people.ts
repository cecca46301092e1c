import * as contract from '../../../shared/contract/index.js';
import { ConflictError, StateConflictError } from '../../../shared/domain/errors.js';
import { implement } from '../../../shared/http/handler.js';
import { type AccountPrincipal, actorOf } from '../../../shared/http/principal.js';
import * as people from '../../../shared/store/people.js';
import type { UserPool } from '../../../shared/store/user-pool.js';
import { db, userPool } from '../deps.js';

function configuredPool(): UserPool {
  if (!userPool) throw new ConflictError('people_not_configured', 'This deployment has no user pool (deployed with -c people=off): use API keys');
  return userPool;
}

/** An admin who disables or removes themselves would lock themselves out mid-session; another admin can. */
function refuseSelf(principal: AccountPrincipal, personId: string): void {
  if (principal.via === 'person' && principal.personId === personId) throw new ConflictError('person_is_caller', 'You cannot change or remove yourself: ask another admin');
}

export const peopleRoutes = [
  implement(contract.createPerson, async ({ principal, body }) => {
    const pool = configuredPool();
    await people.checkFactoriesExist(db, principal.accountId, body.factoryIds);
    const invitation = await pool.invite(body.email);
    try {
      const person = await people.createPerson(db, principal.accountId, { ...body, subject: invitation.subject }, actorOf(principal));
      return { person, ...(invitation.temporaryPassword ? { temporaryPassword: invitation.temporaryPassword } : {}) };
    } catch (error) {
      // No half-made person: a user nobody in our table stands for could sign in to nothing, but would block the email.
      await pool.remove(invitation.subject);
      throw error;
    }
  }),

  implement(contract.listPeople, async ({ principal, query }) => people.listPeople(db, principal.accountId, query)),

  implement(contract.updatePerson, async ({ principal, params, body }) => {
    const pool = configuredPool();
    refuseSelf(principal, params.personId);
    const current = await people.getPerson(db, principal.accountId, params.personId, true);
    // The schema sees one body; the rule holds for the person as the change leaves them.
    const scope = body.factoryIds === undefined ? current.factoryIds : body.factoryIds;
    // Both in the body is the schema's 400; one of them stored makes the change conflict with the person as they are.
    if ((body.role ?? current.role) === 'admin' && scope) {
      throw new StateConflictError('admin_is_account_wide', 'An admin is account-wide: send factoryIds: null with role admin', [{ path: 'factoryIds', message: 'admin is account-wide: send factoryIds: null with role admin' }]);
    }
    await people.checkFactoriesExist(db, principal.accountId, body.factoryIds);
    // The table decides first, so a disabled person's tokens stop at once; the pool then blocks sign-in.
    const person = await people.updatePerson(db, principal.accountId, params.personId, body, actorOf(principal));
    if (body.status === 'disabled' && current.status !== 'disabled') await pool.disable(current.subject);
    if (body.status === 'active' && current.status !== 'active') await pool.enable(current.subject);
    return { person };
  }),

  implement(contract.deletePerson, async ({ principal, params }) => {
    const pool = configuredPool();
    refuseSelf(principal, params.personId);
    const current = await people.getPerson(db, principal.accountId, params.personId, true);
    await people.deletePerson(db, principal.accountId, params.personId, current.subject, actorOf(principal));
    await pool.remove(current.subject);
    return undefined;
  }),
];

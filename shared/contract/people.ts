import * as z from 'zod';
import { AccountRoleSchema, adminTakesNoFactories } from './account.js';
import { Id, ListQuery, Timestamp, distinctItems, listOf } from './common.js';
import { defineRoute } from './route.js';

/** What the user pool accepts as a sign-in name: one address, compared in lower case. */
const Email = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: 'must be an email address' }).max(254))
  // The document shows the input side of the pipe (a bare string, "" included): the address rule goes in as its pattern, the one z.email() applies.
  .meta({ description: 'Sign-in name of the person (lower-cased)', example: 'ana@example.com', pattern: z.regexes.email.source, maxLength: 254 });

const FactoryScope = distinctItems(z.array(Id).min(1).max(100), 'must not repeat a factory').meta({ description: 'The factories the role applies to; absent: every factory of the account. Not for admin, which is account-wide.' });

export const Person = z
  .object({
    personId: Id,
    email: z.string(),
    role: AccountRoleSchema,
    factoryIds: z.array(Id).optional().meta({ description: 'Absent: every factory of the account' }),
    status: z.enum(['active', 'disabled']).meta({ description: '`disabled`: cannot sign in, and tokens already issued stop working within the authorizer cache TTL' }),
    createdAt: Timestamp,
    createdBy: z.string(),
  })
  .meta({ id: 'Person' });

const PersonParams = z.object({ personId: Id });

/** Admin is the whole account by definition: scoping it to factories would be a contradiction, refused rather than ignored. */
function adminIsAccountWide(value: { role?: string; factoryIds?: string[] | null }, context: z.RefinementCtx) {
  if (value.role === 'admin' && value.factoryIds) context.addIssue({ code: 'custom', path: ['factoryIds'], message: 'admin is account-wide: leave factoryIds out' });
}

export const createPerson = defineRoute({
  operationId: 'createPerson',
  method: 'POST',
  path: '/v1/people',
  summary: 'Invite a person by email: a user in the user pool, with a role (and factories) in this account',
  description:
    'Creates the sign-in user (Cognito AdminCreateUser) and the person. In AWS the user pool mails the temporary password; on the local stack no mail is sent ' +
    'and `temporaryPassword` is in the answer, for the admin to hand over. The person sets a new password at first sign-in. ' +
    'One email is one person of one account (`409 person_exists`). Deployments without a user pool answer `409 people_not_configured`.',
  access: { kind: 'account', minimumRole: 'admin' },
  body: z.object({ email: Email, role: AccountRoleSchema, factoryIds: FactoryScope.optional() }).strict().superRefine(adminIsAccountWide).meta(adminTakesNoFactories(false)),
  successStatus: 201,
  response: z.object({ person: Person, temporaryPassword: z.string().optional().meta({ description: 'Only where no invitation mail is sent (the local stack)' }) }),
  errors: ['person_exists', 'people_not_configured'],
  idempotent: false,
});

export const listPeople = defineRoute({
  operationId: 'listPeople',
  method: 'GET',
  path: '/v1/people',
  summary: 'List the people of the account',
  access: { kind: 'account', minimumRole: 'admin' },
  query: ListQuery,
  successStatus: 200,
  response: listOf(Person),
  idempotent: true,
});

export const updatePerson = defineRoute({
  operationId: 'updatePerson',
  method: 'PATCH',
  path: '/v1/people/{personId}',
  summary: "Change a person's role, factories (null: every factory) or status",
  description: 'Takes effect at the next authorization of their token (within the authorizer cache TTL). `disabled` also blocks sign-in and revokes their refresh tokens.',
  access: { kind: 'account', minimumRole: 'admin' },
  params: PersonParams,
  body: z
    .object({ role: AccountRoleSchema.optional(), factoryIds: FactoryScope.nullable().optional(), status: z.enum(['active', 'disabled']).optional() })
    .strict()
    .refine((body) => Object.keys(body).length > 0, 'name at least one of role, factoryIds, status')
    .superRefine(adminIsAccountWide)
    .meta({ minProperties: 1, ...adminTakesNoFactories(true) }),
  successStatus: 200,
  response: z.object({ person: Person }),
  errors: ['person_is_caller', 'people_not_configured', 'admin_is_account_wide'],
  idempotent: true,
});

export const deletePerson = defineRoute({
  operationId: 'deletePerson',
  method: 'DELETE',
  path: '/v1/people/{personId}',
  summary: 'Remove a person: their user is deleted and their tokens stop working within the authorizer cache TTL',
  access: { kind: 'account', minimumRole: 'admin' },
  params: PersonParams,
  successStatus: 204,
  response: z.undefined(),
  errors: ['person_is_caller', 'people_not_configured'],
  idempotent: true,
});

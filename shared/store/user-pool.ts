import { randomInt } from 'node:crypto';
import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminUserGlobalSignOutCommand,
  type CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';
import { ConflictError } from '../domain/errors.js';

export interface Invitation {
  /** The pool's `sub`: the one id of the user that never changes (the email can). */
  subject: string;
  /** Only when no mail is sent (the local stack): the admin hands it over themselves. */
  temporaryPassword?: string;
}

/**
 * The user pool as people management needs it: create (invite), disable, enable, sign out
 * everywhere, delete. Users are named by their `sub` in every call after creation (Cognito
 * accepts it as the username), so a changed email never breaks the link to our person item.
 */
export class UserPool {
  constructor(
    private readonly client: CognitoIdentityProviderClient,
    private readonly userPoolId: string,
    /** Local stack: suppress the invitation mail and hand the temporary password back instead. */
    private readonly showTemporaryPassword: boolean,
  ) {}

  async invite(email: string): Promise<Invitation> {
    const temporaryPassword = this.showTemporaryPassword ? newTemporaryPassword() : undefined;
    try {
      const { User } = await this.client.send(
        new AdminCreateUserCommand({
          UserPoolId: this.userPoolId,
          Username: email,
          // The admin typed the address: it is as verified as an invitation can make it.
          UserAttributes: [
            { Name: 'email', Value: email },
            { Name: 'email_verified', Value: 'true' },
          ],
          ...(temporaryPassword ? { TemporaryPassword: temporaryPassword, MessageAction: 'SUPPRESS' as const } : { DesiredDeliveryMediums: ['EMAIL' as const] }),
        }),
      );
      const subject = User?.Attributes?.find((attribute) => attribute.Name === 'sub')?.Value;
      if (!subject) throw new Error('The user pool created a user without a sub');
      return { subject, ...(temporaryPassword ? { temporaryPassword } : {}) };
    } catch (error) {
      if (error instanceof Error && (error.name === 'UsernameExistsException' || error.name === 'AliasExistsException')) {
        throw new ConflictError('person_exists', 'A person with this email already exists');
      }
      throw error;
    }
  }

  /** Disabled users cannot sign in, and their refresh tokens are revoked so no new access token is minted. */
  async disable(subject: string): Promise<void> {
    await this.client.send(new AdminDisableUserCommand({ UserPoolId: this.userPoolId, Username: subject }));
    await this.client.send(new AdminUserGlobalSignOutCommand({ UserPoolId: this.userPoolId, Username: subject }));
  }

  async enable(subject: string): Promise<void> {
    await this.client.send(new AdminEnableUserCommand({ UserPoolId: this.userPoolId, Username: subject }));
  }

  /** Deleting a user that is already gone (a retried removal) is done, not an error. */
  async remove(subject: string): Promise<void> {
    try {
      await this.client.send(new AdminDeleteUserCommand({ UserPoolId: this.userPoolId, Username: subject }));
    } catch (error) {
      if (!(error instanceof Error && error.name === 'UserNotFoundException')) throw error;
    }
  }
}

const PASSWORD_CLASSES = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-=?@^_'] as const;

/** 16 characters with every class the pool's policy asks for, shuffled so the classes sit anywhere. */
export function newTemporaryPassword(): string {
  const all = PASSWORD_CLASSES.join('');
  const chars = [...PASSWORD_CLASSES.map((set) => set[randomInt(set.length)]), ...Array.from({ length: 12 }, () => all[randomInt(all.length)])];
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}

import type { Command } from 'commander';
import * as contract from '../../shared/contract/index.js';
import { renderTable } from '../output.js';
import type { CommandKit } from '../program.js';

export function registerSigningKeyCommands(program: Command, kit: CommandKit): void {
  program
    .command('signing-keys')
    .description('the public keys (JWKS) that verify bindings and tickets offline')
    .action(
      kit.action(async (context) => {
        const jwks = await context.client().call(contract.getSigningKeys);
        // --json prints the JWKS itself, ready to be saved for offline verification.
        context.print(jwks, () =>
          renderTable(jwks.keys, [
            { header: 'KID', value: (k) => k.kid },
            { header: 'ALG', value: (k) => k.alg },
            { header: 'CURVE', value: (k) => k.crv },
            { header: 'USE', value: (k) => k.use },
          ]),
        );
      }),
    );
}

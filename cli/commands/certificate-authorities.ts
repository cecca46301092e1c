import type { Command } from 'commander';
import * as contract from '../../shared/contract/index.js';
import { formatTime, renderTable } from '../output.js';
import type { CommandKit } from '../program.js';

/** Certificate authorities whose keys KMS holds; their device certificates are asked for by programmers (and the simulator). */
export function registerCertificateAuthorityCommands(program: Command, kit: CommandKit): void {
  const cas = program.command('cas').description('certificate authorities of device certificates (keys held in KMS)');

  cas
    .command('ls')
    .description('list the certificate authorities')
    .action(
      kit.action(async (context) => {
        const items = await context.client().listAll(contract.listCertificateAuthorities, { query: { limit: 100 } });
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'CA', value: (ca) => ca.certificateAuthorityId },
            { header: 'NAME', value: (ca) => ca.name },
            { header: 'SUBJECT', value: (ca) => ca.subject },
            { header: 'VALID UNTIL', value: (ca) => formatTime(ca.notAfter) },
          ]),
        );
      }),
    );

  cas
    .command('create')
    .description('create a certificate authority: a new KMS key and its self-signed certificate (admin)')
    .argument('<name>')
    .requiredOption('--subject <dn>', 'distinguished name with a CN, e.g. "CN=Acme Device CA, O=Acme"')
    .action(
      kit.action(async (context, name: string, options: { subject: string }) => {
        const { certificateAuthority } = await context.client().call(contract.createCertificateAuthority, { body: { name, subject: options.subject } });
        context.print({ certificateAuthority }, () => `Created certificate authority ${certificateAuthority.name} (${certificateAuthority.certificateAuthorityId})\n${certificateAuthority.certificatePem}`);
      }),
    );

  cas
    .command('show')
    .description("show a certificate authority; --pem prints only its certificate (the devices' trust anchor)")
    .argument('<ca>', 'id')
    .option('--pem', 'print the certificate only')
    .action(
      kit.action(async (context, certificateAuthorityId: string, options: { pem?: boolean }) => {
        const { certificateAuthority } = await context.client().call(contract.getCertificateAuthority, { params: { certificateAuthorityId } });
        context.print({ certificateAuthority }, () =>
          options.pem
            ? certificateAuthority.certificatePem
            : `${certificateAuthority.name} (${certificateAuthority.certificateAuthorityId})\nsubject    ${certificateAuthority.subject}\nvalid      ${formatTime(certificateAuthority.notBefore)} – ${formatTime(certificateAuthority.notAfter)}\n\n${certificateAuthority.certificatePem}`,
        );
      }),
    );
}

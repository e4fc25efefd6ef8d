/**
 * `accord revoke <dir> --member bank-c`: for a development consortium made by `accord init`, revoke a member's
 * certificate. Adds its serial to the consortium CA's certificate revocation list (`<dir>/ca/crl.pem`, keeping those
 * already revoked, signed by `<dir>/ca/ca.key`) and points the coordinator config's `revocation.crlFile` at it. The
 * running coordinator applies it on SIGHUP (`kill -HUP <pid>`): from then on the member is refused on every call and
 * its open streams end. A consortium with its own PKI issues the CRL there, or lists the member in
 * `revocation.deniedMembers`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { parseCrl } from '../../platform/tls/crl.js';
import { issueCrl, loadAuthority, serialOf } from '../../platform/tls/issue.js';
import { AccordError } from '../../primitives/errors/index.js';
import { COORDINATOR_NAME, MEMBER_NAME_PATTERN } from '../../primitives/consortium/roles.js';

export function revokeMember(
  dir: string,
  member: string,
): { crlFile: string; serial: string; revoked: number } {
  const root = resolve(dir);
  if (!MEMBER_NAME_PATTERN.test(member) || member === COORDINATOR_NAME)
    throw new AccordError('ACCORD_USAGE', { problem: `${member} is not a member name` });
  const certFile = join(root, member, 'cert.pem');
  const caCert = join(root, 'ca', 'ca.pem');
  const caKey = join(root, 'ca', 'ca.key');
  for (const file of [certFile, caCert, caKey])
    if (!existsSync(file))
      throw new AccordError('ACCORD_USAGE', {
        problem: `${file} is missing: is ${root} a folder made by accord init?`,
      });
  const ca = loadAuthority(readFileSync(caCert, 'utf8'), readFileSync(caKey, 'utf8'));
  const crlFile = join(root, 'ca', 'crl.pem');
  const already = existsSync(crlFile)
    ? [...parseCrl(readFileSync(crlFile), new X509Certificate(ca.certPem), crlFile).revokedSerials]
    : [];
  const serial = serialOf(readFileSync(certFile, 'utf8'));
  const serials = [...new Set([...already, serial])];
  writeFileSync(
    crlFile,
    issueCrl(
      ca,
      serials.map((s) => ({ serial: s })),
    ),
  );
  const configFile = join(root, COORDINATOR_NAME, 'coordinator.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8'));
  config.revocation = { deniedMembers: [], deniedSerials: [], ...config.revocation };
  config.revocation.crlFile = relative(join(root, COORDINATOR_NAME), crlFile);
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return { crlFile, serial, revoked: serials.length };
}

/**
 * Which member certificates the coordinator refuses from now on ("a member can leave"): member names and serials on
 * a configured deny-list, and serials on the consortium CA's certificate revocation list (CRL). Built once at start
 * (a bad list refuses to start) and swapped whole on `reload`: the new state is built aside and only replaces the
 * old one when every part of it is valid, so a broken reload never un-revokes anyone. Also refused on reload: a CRL
 * older than the one in force (a replayed old list would un-revoke whoever was revoked since).
 * The TLS handshake only proves "issued by the consortium CA"; this is checked per call, with the peer's member name
 * (from `identity.ts`) and its certificate serial.
 */
import { X509Certificate } from 'node:crypto';
import { MEMBER_NAME_PATTERN } from '../../primitives/consortium/roles.js';
import { AccordError } from '../../primitives/errors/index.js';
import { type Crl, loadCrlFile, normaliseSerial } from './crl.js';
import type { PeerIdentity } from './identity.js';

export interface RevocationSettings {
  /** Member names refused whatever certificate they present. */
  readonly deniedMembers: readonly string[];
  /** Certificate serials refused; hex with or without colons, any case (`0A:1B`, `0a1b`, `0x0A1B`). */
  readonly deniedSerials: readonly string[];
  /** PEM or DER CRL signed by the consortium CA; re-read on every `reload`. */
  readonly crlFile?: string | undefined;
}

/** Why a peer is refused: its member name, its serial on the deny-list, or its serial on the CRL. */
export type RevocationMatch = 'member' | 'serial' | 'crl';

interface State {
  readonly members: ReadonlySet<string>;
  readonly serials: ReadonlySet<string>;
  readonly crlFile: string | undefined;
  readonly crl: Crl | null;
}

export class Revocation {
  readonly #ca: X509Certificate;
  #state: State;

  /** Throws ACCORD_CONFIG_INVALID (a bad deny-list entry), ACCORD_TLS_CRL_INVALID or ACCORD_TLS_FILE_UNREADABLE. */
  constructor(settings: RevocationSettings, caPem: Buffer) {
    try {
      this.#ca = new X509Certificate(caPem);
    } catch (err) {
      throw new AccordError('ACCORD_TLS_FILE_INVALID', {
        what: 'CA',
        file: '(given to revocation)',
        reason: (err as Error).message,
      });
    }
    this.#state = this.#build(settings, null);
  }

  /**
   * Why `peer` is refused, or null when it is not. A serial that is not hex (never the case for a certificate that
   * passed the TLS handshake) fails closed: refused as 'serial'.
   */
  match(peer: PeerIdentity): RevocationMatch | null {
    const state = this.#state;
    if (state.members.has(peer.member)) return 'member';
    let serial: string;
    try {
      serial = normaliseSerial(peer.serial);
    } catch {
      return 'serial';
    }
    if (state.serials.has(serial)) return 'serial';
    if (state.crl?.revokedSerials.has(serial)) return 'crl';
    return null;
  }

  /** True = revoked: refuse the call (ACCORD_MEMBER_REVOKED). */
  check(peer: PeerIdentity): boolean {
    return this.match(peer) !== null;
  }

  /**
   * Re-reads the settings and the CRL file. On any error the previous state stays in force and the coded error is
   * thrown. Returns what changed, as sorted `member:<name>` and `serial:<hex>` entries (deny-list and CRL serials
   * together: both refuse the same way).
   */
  reload(settings: RevocationSettings): { added: string[]; removed: string[] } {
    const next = this.#build(settings, this.#state);
    const before = entries(this.#state);
    const after = entries(next);
    this.#state = next;
    return {
      added: [...after].filter((e) => !before.has(e)).sort(),
      removed: [...before].filter((e) => !after.has(e)).sort(),
    };
  }

  /** For logs: counts and CRL dates, never the names or serials themselves. */
  describe(): {
    deniedMembers: number;
    deniedSerials: number;
    crl: {
      file: string;
      revoked: number;
      thisUpdate: string;
      nextUpdate: string | null;
      stale: boolean;
    } | null;
  } {
    const { members, serials, crl, crlFile } = this.#state;
    return {
      deniedMembers: members.size,
      deniedSerials: serials.size,
      crl:
        crl && crlFile
          ? {
              file: crlFile,
              revoked: crl.revokedSerials.size,
              thisUpdate: crl.thisUpdate.toISOString(),
              nextUpdate: crl.nextUpdate?.toISOString() ?? null,
              stale: crl.nextUpdate !== null && crl.nextUpdate.getTime() < Date.now(),
            }
          : null,
    };
  }

  #build(settings: RevocationSettings, previous: State | null): State {
    const problems: string[] = [];
    const members = new Set<string>();
    settings.deniedMembers.forEach((member, i) => {
      if (MEMBER_NAME_PATTERN.test(member)) members.add(member);
      else problems.push(`deniedMembers[${i}] ${JSON.stringify(member)} is not a member name`);
    });
    const serials = new Set<string>();
    settings.deniedSerials.forEach((serial, i) => {
      try {
        serials.add(normaliseSerial(serial));
      } catch {
        problems.push(`deniedSerials[${i}] ${JSON.stringify(serial)} is not a hexadecimal serial number`);
      }
    });
    if (problems.length) throw new AccordError('ACCORD_CONFIG_INVALID', { problems: problems.join('; ') });
    const crlFile = settings.crlFile || undefined;
    const crl = crlFile ? loadCrlFile(crlFile, this.#ca) : null;
    if (crl && previous?.crl && crl.thisUpdate.getTime() < previous.crl.thisUpdate.getTime()) {
      throw new AccordError('ACCORD_TLS_CRL_INVALID', {
        file: crlFile!,
        reason: `it is older than the list in force (thisUpdate ${crl.thisUpdate.toISOString()} is before ${previous.crl.thisUpdate.toISOString()})`,
      });
    }
    return { members, serials, crlFile, crl };
  }
}

function entries(state: State): Set<string> {
  const out = new Set<string>();
  for (const member of state.members) out.add(`member:${member}`);
  for (const serial of state.serials) out.add(`serial:${serial}`);
  for (const serial of state.crl?.revokedSerials ?? []) out.add(`serial:${serial}`);
  return out;
}

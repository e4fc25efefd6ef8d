/**
 * Facts about the node's REST listener address, shared by config validation, the node and the CLI: whether a host
 * is loopback (only then may bearer tokens travel over plain HTTP) and the base URL clients use.
 */
import { BlockList, isIP } from 'node:net';

// 127.0.0.0/8 and ::1; BlockList also matches their other spellings (::ffff:127.0.0.1, 0:0:0:0:0:0:0:1).
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * True for addresses only this machine can reach: `localhost`, 127.0.0.0/8 and `::1` (brackets allowed). The
 * wildcard addresses `0.0.0.0` and `::` listen on every interface and are NOT loopback.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1');
  if (bare.toLowerCase() === 'localhost') return true;
  const family = isIP(bare);
  if (family === 0) return false;
  return loopback.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/** `https://host:port` when the listener has TLS, else `http://`; IPv6 hosts in brackets. */
export function restBaseUrl(rest: { host: string; tls?: object | undefined }, port: number): string {
  const host = isIP(rest.host) === 6 ? `[${rest.host}]` : rest.host;
  return `${rest.tls ? 'https' : 'http'}://${host}:${port}`;
}

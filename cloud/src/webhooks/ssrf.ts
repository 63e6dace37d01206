import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { ValidationError } from '@bitv/shared';

/**
 * The SSRF guard: a partner's URL must not reach inside our network. Refused: loopback, private
 * (RFC 1918, ULA fc00::/7), link-local (169.254/16 with cloud metadata, fe80::/10), CGNAT,
 * multicast, unspecified and reserved ranges, IPv4-mapped IPv6 forms of each. The check runs on
 * the addresses the request actually connects to (`lookup` below), so a DNS answer that changes
 * after registration (rebinding) is caught too.
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

export class SsrfError extends ValidationError {}

export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1]) return blocked.check(mapped[1], 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return true; // not an address at all: refuse
}

/** Checks a URL's shape (http/https, no credentials); with `allowPrivate` false, literal internal hosts too. */
export function checkEndpointUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SsrfError('endpoint URL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new SsrfError('endpoint URL must be http or https');
  if (url.username || url.password) throw new SsrfError('endpoint URL must not carry credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (
    !allowPrivate &&
    (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) && isInternalAddress(host)))
  ) {
    throw new SsrfError(`endpoint URL points inside the network (${host}); refused`);
  }
  return url;
}

/** Resolves a host name and refuses when any address is internal (none are connected to then). */
export async function resolvePublic(host: string, allowPrivate: boolean): Promise<string[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  const addresses = isIP(bare)
    ? [bare]
    : await new Promise<string[]>((resolve, reject) =>
        dnsLookup(bare, { all: true }, (err, all: LookupAddress[]) =>
          err
            ? reject(new SsrfError(`cannot resolve ${bare}: ${err.code ?? err.message}`))
            : resolve(all.map((a) => a.address)),
        ),
      );
  if (!allowPrivate) {
    const inside = addresses.find(isInternalAddress);
    if (inside)
      throw new SsrfError(`endpoint host ${bare} resolves to an internal address (${inside}); refused`);
  }
  return addresses;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `lookup` for http(s).request that only ever hands out checked addresses. */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    resolvePublic(hostname, allowPrivate).then(
      (addresses) => {
        const list = addresses.map((address) => ({ address, family: isIP(address) }));
        if (options.all) callback(null, list);
        else callback(null, list[0]?.address ?? '', list[0]?.family ?? 4);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}

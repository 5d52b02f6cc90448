/**
 * Where a tenant-given host may be dialled. Every destination (and any future webhook) resolves its host here and
 * connects to the address that was checked, never to a second lookup of the name: a name that resolves to a public
 * address when checked and to 127.0.0.1 a moment later (DNS rebinding) still reaches only the checked address.
 *
 * Entry points: `resolveAllowed` for clients that take an address (pg: host = the address, TLS name = the host
 * name), `policyLookup` for clients that take a `lookup` function (node:http agents, hence the AWS SDK), and
 * `checkAddress` for an address already in hand (IP literals, which node:net dials without a lookup).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { DestinationRefusedError } from '../errors';

export interface NetworkPolicy {
  /** CIDR networks destinations may reach although they are not public (DESTINATION_ALLOWED_NETWORKS). */
  allowedNetworks: readonly string[];
}

/** How each kind of non-public address is named in refusals; every range ipaddr.js knows other than `unicast`. */
const RANGE_NAMES: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address (169.254.0.0/16, fe80::/10: cloud metadata lives there)',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  private: 'a private address (RFC 1918)',
  uniqueLocal: 'a unique-local address (fc00::/7)',
};

/** IPv6 ranges ipaddr.js calls unicast that can still reach IPv4 networks behind a translator or tunnel. */
const EMBEDDED_IPV4 = [ipaddr.parseCIDR('::/96'), ipaddr.parseCIDR('64:ff9b:1::/48')];

/** Parses a network of DESTINATION_ALLOWED_NETWORKS; a bare address is a network of one. Throws on a bad one. */
export function parseNetwork(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (text.includes('/')) return ipaddr.parseCIDR(text);
  const address = ipaddr.parse(text);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}

/** Why the address may not be dialled (as in "127.0.0.1 is <reason>"), or null when it may. */
export function refusalOf(address: string, policy: NetworkPolicy): string | null {
  // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) reaches the IPv4 address it carries: judge that one.
  const parsed = ipaddr.process(address);
  for (const network of policy.allowedNetworks) {
    const [base, bits] = parseNetwork(network);
    if (base.kind() === parsed.kind() && parsed.match(base, bits)) return null;
  }
  const range = parsed.range();
  if (range === 'unicast') {
    const embedded = parsed.kind() === 'ipv6' && EMBEDDED_IPV4.some(([base, bits]) => parsed.match(base, bits));
    return embedded ? 'a reserved address' : null;
  }
  return RANGE_NAMES[range] ?? `a reserved address (${range})`;
}

/** Said with every refusal: what the tenant can do, and what the operator can. */
const REFUSAL_ADVICE =
  'destinations may only be on public addresses (the operator can allow more networks with DESTINATION_ALLOWED_NETWORKS)';

/** Which config field a refusal is about, and its value as the user wrote it (the host dialled when absent). */
export interface DialTarget {
  field: string;
  value?: string;
}

/** Throws DestinationRefusedError, in the words the API and the run's error use, unless the address is allowed. */
export function checkAddress(address: string, policy: NetworkPolicy, target: DialTarget, resolvedFrom?: string): void {
  const reason = refusalOf(address, policy);
  if (!reason) return;
  const named = target.value === undefined ? `"${resolvedFrom ?? address}"` : `${target.field} "${target.value}"`;
  const what = `${named} ${resolvedFrom ? 'resolves to' : 'is'} ${reason}`;
  throw new DestinationRefusedError(`${what}: ${REFUSAL_ADVICE}`, target.field);
}

/** A host as it is dialled: an IPv6 literal without the brackets a URL writes around it. */
export function dialledHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Checks a host that is an IP literal, before connecting: Node skips `lookup` for literals, so `policyLookup` never
 * sees them. A name passes here; `policyLookup` checks it as it resolves.
 */
export function checkLiteralHost(host: string, policy: NetworkPolicy, target: DialTarget): void {
  const literal = dialledHost(host);
  if (isIP(literal)) checkAddress(literal, policy, target);
}

/**
 * Resolves a host (or takes an IP literal) and returns its addresses, all allowed; throws DestinationRefusedError if
 * any is refused (a name that mixes public and internal addresses is refused whole). Lookup errors (ENOTFOUND,
 * EAI_AGAIN) pass through unchanged.
 */
export async function resolveAllowed(
  host: string,
  policy: NetworkPolicy,
  target: DialTarget,
  options: { family?: number } = {},
): Promise<LookupAddress[]> {
  const literal = dialledHost(host);
  if (isIP(literal)) {
    checkAddress(literal, policy, target);
    return [{ address: literal, family: isIP(literal) }];
  }
  const addresses = await dnsLookup(host, { all: true, family: options.family ?? 0 });
  for (const { address } of addresses) checkAddress(address, policy, target, host);
  return addresses;
}

/** A save does not wait longer than this for a name to resolve. */
const SAVE_LOOKUP_TIMEOUT_MS = 5_000;

/**
 * The check made when a config is saved. A name that does not resolve (yet, or within the timeout) is accepted: the
 * tenant may create its DNS record later, and every connection checks the name again anyway.
 */
export async function checkHostOnSave(host: string, policy: NetworkPolicy, target: DialTarget): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, SAVE_LOOKUP_TIMEOUT_MS)));
  try {
    await Promise.race([resolveAllowed(host, policy, target), timeout]);
  } catch (error) {
    if (error instanceof DestinationRefusedError) throw error;
  } finally {
    clearTimeout(timer);
  }
}

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for node:net and node:http agents that only yields allowed addresses: the socket connects to what it
 * returns. Node skips `lookup` for IP literals, so those must be checked with `checkLiteralHost` before connecting.
 */
export function policyLookup(policy: NetworkPolicy, target: DialTarget) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolveAllowed(hostname, policy, target, { family: typeof options.family === 'number' ? options.family : 0 }).then(
      (addresses) => {
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: Error) => callback(error, ''),
    );
  };
}

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { DestinationRefusedError } from '../../src/errors';
import { refusalOf, resolveAllowed } from '../../src/net/policy';

const STRICT = { allowedNetworks: [] };

describe('refusalOf', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['10.1.2.3', 'a private address (RFC 1918)'],
    ['172.16.0.1', 'a private address (RFC 1918)'],
    ['172.31.255.255', 'a private address (RFC 1918)'],
    ['192.168.1.1', 'a private address (RFC 1918)'],
    ['169.254.169.254', expect.stringContaining('a link-local address')],
    ['fe80::1', expect.stringContaining('a link-local address')],
    ['100.64.0.1', 'a carrier-grade NAT address (100.64.0.0/10)'],
    ['fc00::1', 'a unique-local address (fc00::/7)'],
    ['fd12:3456::1', 'a unique-local address (fc00::/7)'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['::ffff:169.254.169.254', expect.stringContaining('a link-local address')],
    ['::ffff:10.0.0.1', 'a private address (RFC 1918)'],
    ['0.0.0.0', 'an unspecified address'],
    ['::', 'an unspecified address'],
    ['224.0.0.1', 'a multicast address'],
    ['ff02::1', 'a multicast address'],
    ['255.255.255.255', 'a broadcast address'],
    ['192.0.2.10', expect.stringContaining('a reserved address')],
    ['240.0.0.1', expect.stringContaining('a reserved address')],
    ['64:ff9b::7f00:1', expect.stringContaining('a reserved address')],
    ['::7f00:1', 'a reserved address'],
    ['2002:7f00:1::', expect.stringContaining('a reserved address')],
  ])('refuses %s as %s', (address, reason) => {
    expect(refusalOf(address, STRICT)).toEqual(reason);
  });

  it.each(['8.8.8.8', '52.216.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'allows the public address %s',
    (address) => {
      expect(refusalOf(address, STRICT)).toBeNull();
    },
  );

  it('allows what the operator allows, and only that', () => {
    const policy = { allowedNetworks: ['127.0.0.0/8', '10.1.0.0/16', 'fd00::/8'] };
    expect(refusalOf('127.0.0.1', policy)).toBeNull();
    expect(refusalOf('::ffff:127.0.0.1', policy)).toBeNull();
    expect(refusalOf('10.1.200.3', policy)).toBeNull();
    expect(refusalOf('fd00::5', policy)).toBeNull();
    expect(refusalOf('10.2.0.1', policy)).toBe('a private address (RFC 1918)');
    expect(refusalOf('::1', policy)).toBe('a loopback address');
    expect(refusalOf('169.254.169.254', policy)).toContain('link-local');
  });
});

describe('resolveAllowed', () => {
  it('resolves a name and refuses it when an address is not allowed, naming the field', async () => {
    const refusal = resolveAllowed('localhost', STRICT, { field: 'host', value: 'localhost' });
    await expect(refusal).rejects.toBeInstanceOf(DestinationRefusedError);
    await expect(refusal).rejects.toMatchObject({
      field: 'host',
      kind: 'configuration',
      message: expect.stringMatching(/^host "localhost" resolves to a loopback address: /),
    });
  });

  it('returns the checked addresses, which are what gets dialled', async () => {
    const policy = { allowedNetworks: ['127.0.0.0/8', '::1/128'] };
    const addresses = await resolveAllowed('localhost', policy, { field: 'host', value: 'localhost' });
    expect(addresses.length).toBeGreaterThan(0);
    for (const { address } of addresses) expect(['127.0.0.1', '::1']).toContain(address);
    expect(await resolveAllowed('[::1]', policy, { field: 'host', value: '::1' })).toEqual([
      { address: '::1', family: 6 },
    ]);
  });
});

describe('DESTINATION_ALLOWED_NETWORKS and S3_ALLOW_WORKER_CREDENTIALS', () => {
  const KEY = randomBytes(32).toString('base64');

  it('default to public addresses only and no worker credentials', () => {
    expect(loadConfig({ ENCRYPTION_KEY: KEY }).destinationAccess).toEqual({
      allowedNetworks: [],
      s3WorkerCredentials: false,
    });
  });

  it('parse a comma-separated list of networks (a bare address is a network of one)', () => {
    const config = loadConfig({
      ENCRYPTION_KEY: KEY,
      DESTINATION_ALLOWED_NETWORKS: '127.0.0.0/8, 10.1.0.0/16,::1',
      S3_ALLOW_WORKER_CREDENTIALS: 'true',
    });
    expect(config.destinationAccess).toEqual({
      allowedNetworks: ['127.0.0.0/8', '10.1.0.0/16', '::1'],
      s3WorkerCredentials: true,
    });
  });

  it('name the bad network', () => {
    expect(() => loadConfig({ ENCRYPTION_KEY: KEY, DESTINATION_ALLOWED_NETWORKS: '10.0.0.0/8,10.0.0.0/33' })).toThrow(
      new ConfigError(
        'Invalid environment: DESTINATION_ALLOWED_NETWORKS has "10.0.0.0/33", which is not a CIDR network (e.g. 10.1.0.0/16)',
      ),
    );
  });
});

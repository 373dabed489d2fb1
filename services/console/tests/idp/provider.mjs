// A real OpenID provider for the console's sign-in tests: panva's oidc-provider (a certified
// OpenID implementation), not a stand-in of ours. Everything variable comes from the JSON in
// RF_IDP_CONFIG (the Python fixture writes it):
//   {audience, jwks?: [private JWK...], clients: [...], accounts: {id: claims}}
// It listens on a port the kernel picks on 127.0.0.1 (no race for a guessed free port), is its
// own issuer http://127.0.0.1:<port>, and prints `ready <issuer>` once it serves.
// The access token for `audience` (the services) is a JWT (RFC 9068) carrying the account's
// groups and credit code, as a county IdP's API mapper would put them there.
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

const cfg = JSON.parse(process.env.RF_IDP_CONFIG);
const accounts = cfg.accounts;

const server = createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: cfg.clients,
  ...(cfg.jwks ? { jwks: { keys: cfg.jwks } } : {}),
  cookies: { keys: [cfg.cookie_key || 'ruralfund-test-idp-cookie-key'] },
  pkce: { required: () => true },  // every client, confidential ones too (S256 only)
  scopes: ['openid', 'profile', 'groups'],
  claims: { openid: ['sub'], profile: ['name'], groups: ['groups', 'credit_code'] },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;  // an unknown login fails at the IdP
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  features: {
    devInteractions: { enabled: true },  // the provider's own login and consent forms
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => cfg.audience,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => {
        if (indicator !== cfg.audience) throw new errors.InvalidTarget();
        return { scope: 'ruralfund', audience: cfg.audience, accessTokenFormat: 'jwt',
                 accessTokenTTL: 3600, jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  async extraTokenClaims(ctx, token) {
    if (token.kind !== 'AccessToken' || !accounts[token.accountId]) return undefined;
    const { groups, name, credit_code: creditCode } = accounts[token.accountId];
    return { groups, name, ...(creditCode ? { credit_code: creditCode } : {}) };
  },
});

server.on('request', provider.callback());
console.log(`ready ${issuer}`);
// the test ends it: nothing to flush (in-memory store), so stop at once
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

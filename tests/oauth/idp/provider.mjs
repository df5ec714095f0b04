// The OpenID provider of the OAuth tests: node-oidc-provider (pinned in package.json), on
// loopback, with dynamic registration, PKCE, resource indicators and introspection.
//
// argv: <port>. env: IDP_JWKS (the private signing JWKS, JSON; the tests mint their refusal
// tokens with it), IDP_RESOURCE_FORMAT ("jwt" or "opaque": access tokens for a resource),
// IDP_SCOPE (the resource's scopes), IDP_RS_CLIENT / IDP_RS_SECRET (the confidential client
// phaseo-mcp introspects as), IDP_AT_TTL (seconds). Prints "listening <issuer>" when ready.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const format = process.env.IDP_RESOURCE_FORMAT || 'jwt';
const scope = process.env.IDP_SCOPE || 'videos';
const ttl = Number(process.env.IDP_AT_TTL || 3600);

const provider = new Provider(issuer, {
  jwks: JSON.parse(process.env.IDP_JWKS),
  clients: [{
    client_id: process.env.IDP_RS_CLIENT,
    client_secret: process.env.IDP_RS_SECRET,
    grant_types: [],
    redirect_uris: [],
    response_types: [],
  }],
  scopes: ['openid', 'offline_access', ...scope.split(' ')],
  features: {
    devInteractions: { enabled: true }, // its login and consent forms; the tests post them
    registration: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resourceIndicator) => ({
        scope,
        audience: resourceIndicator,
        accessTokenTTL: ttl,
        accessTokenFormat: format,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  pkce: { required: () => true },
  ttl: { AccessToken: ttl, Session: 3600, Grant: 3600, Interaction: 600, AuthorizationCode: 60 },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
});
provider.proxy = false;
process.on('SIGTERM', () => process.exit(0));
provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});

// A real OpenID provider for portcullis' client-flow tests: oidc-provider on 127.0.0.1 with a free
// port. The Rust test harness (crates/portcullis-core/tests/common/idp.rs) starts it with
// `node tests/idp/server.mjs`, reads the one JSON line it prints on stdout (issuer, clients'
// secrets and the private_key_jwt client's private key), and kills it by its handle.
//
// DPoP-bound tokens are issued to any client that sends a proof (see IDP_DPOP_NONCE).
// Resources (RFC 8707): JWT_API gets RFC 9068 JWT access tokens, OPAQUE_API opaque ones (which
// is also what introspection is tested with: oidc-provider does not introspect its own JWTs),
// and any loopback MCP server (`http://127.0.0.1:<port>/mcp`) JWTs with the scope `tools:echo`.
// Token requests are counted at GET /_test/counters, per client for HTTP Basic client
// authentication (the body is left to the provider), so tests can prove that 500 concurrent
// callers cost exactly one request.
// POST /_test/rotate rotates the signing key: a new RS256 key signs from then on, the old one
// stays published (as providers rotate). POST /_test/fail-token?status=500&error=server_error
// &count=N makes the next N token-endpoint requests fail that way before reaching the provider.
import crypto from 'node:crypto';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const JWT_API = 'https://api.portcullis.test';
const OPAQUE_API = 'https://opaque.portcullis.test';
const ACCESS_TTL = Number(process.env.IDP_ACCESS_TTL ?? 300);
// Holds every token request this long (ms), so tests can make requests overlap for certain.
const TOKEN_DELAY = Number(process.env.IDP_TOKEN_DELAY_MS ?? 0);
// DPoP (RFC 9449) is on for every client; IDP_DPOP_NONCE=1 makes the token endpoint require
// server nonces, so clients must handle `use_dpop_nonce`.
const DPOP_NONCE = process.env.IDP_DPOP_NONCE === '1';
// Where the `web-logout` client receives back-channel logout tokens (OpenID Back-Channel
// Logout 1.0), e.g. an example server's POST /backchannel-logout; the client exists only then.
const BACKCHANNEL_LOGOUT_URI = process.env.IDP_BACKCHANNEL_LOGOUT_URI;

const server = http.createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const rsaJwk = (kid) => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    private: { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' },
    public: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' },
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }),
  };
};
const signing = rsaJwk('idp-rs256');
const assertionKey = rsaJwk('service-jwt-key');
const secret = () => crypto.randomBytes(24).toString('base64url');
const secrets = {
  basic: secret(), post: secret(), resourceServer: secret(), web: secret(),
};

const clients = [
  {
    client_id: 'service-basic',
    client_secret: secrets.basic,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  },
  {
    client_id: 'service-post',
    client_secret: secrets.post,
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  },
  {
    client_id: 'service-jwt',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS256',
    jwks: { keys: [assertionKey.public] },
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  },
  {
    // A public (PKCE) client with a loopback redirect: any port on 127.0.0.1 (RFC 8252 §7.3).
    client_id: 'web-app',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
    post_logout_redirect_uris: ['http://127.0.0.1/logged-out'],
  },
  {
    // A confidential web client: authorization code with PKCE and a secret.
    client_id: 'web-confidential',
    client_secret: secrets.web,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
  },
  {
    client_id: 'device-app',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  },
  {
    // The resource server: introspects and revokes.
    client_id: 'resource-server',
    client_secret: secrets.resourceServer,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: [],
    redirect_uris: [],
    response_types: [],
  },
];

if (BACKCHANNEL_LOGOUT_URI) {
  clients.push({
    // A public (PKCE) client whose sessions end by back-channel logout at its resource server.
    client_id: 'web-logout',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
    backchannel_logout_uri: BACKCHANNEL_LOGOUT_URI,
    backchannel_logout_session_required: true,
  });
}

// Newest first: oidc-provider signs with the first key that fits.
let signingKeys = [signing.private];
const cookieKeys = [secret()];
const dpopNonceSecret = crypto.randomBytes(32);
const configuration = () => ({
  clients: structuredClone(clients),
  // oidc-provider refuses to call special-use addresses (SSRF protection); everything in these
  // tests is on 127.0.0.1, so loopback targets (the back-channel logout receiver) go through.
  fetch: (url, options) => {
    if (new URL(url).hostname === '127.0.0.1') {
      // eslint-disable-next-line no-param-reassign
      delete options.dispatcher;
    }
    return fetch(url, options);
  },
  // Access tokens carry the session id (`sid`), as Keycloak's and Auth0's do, so a resource
  // server can end a session's tokens when the provider logs it out.
  extraTokenClaims: async (_ctx, token) => (token.sid ? { sid: token.sid } : undefined),
  jwks: { keys: signingKeys },
  cookies: { keys: cookieKeys },
  scopes: ['openid', 'offline_access', 'email'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.test`, email_verified: true }),
  }),
  ttl: {
    AccessToken: ACCESS_TTL,
    ClientCredentials: ACCESS_TTL,
    AuthorizationCode: 60,
    DeviceCode: 600,
    IdToken: 3600,
    Interaction: 600,
    RefreshToken: 86400,
    Session: 3600,
    Grant: 86400,
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    introspection: {
      enabled: true,
      allowedPolicy: async (ctx, client) => client.clientId === 'resource-server',
    },
    revocation: { enabled: true },
    backchannelLogout: { enabled: true },
    dPoP: {
      enabled: true,
      nonceSecret: dpopNonceSecret,
      requireNonce: () => DPOP_NONCE,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        const scope = 'read:users write:users';
        if (indicator === JWT_API) {
          return {
            scope, audience: JWT_API, accessTokenTTL: ACCESS_TTL, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } },
          };
        }
        if (indicator === OPAQUE_API) {
          return {
            scope, audience: OPAQUE_API, accessTokenTTL: ACCESS_TTL, accessTokenFormat: 'opaque',
          };
        }
        // An MCP server on loopback (examples/mcp_resource_server.rs): any port, path /mcp.
        if (/^http:\/\/127\.0\.0\.1:\d+\/mcp$/.test(indicator)) {
          return {
            scope: 'tools:echo', audience: indicator, accessTokenTTL: ACCESS_TTL, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } },
          };
        }
        throw new errors.InvalidTarget();
      },
    },
  },
});

const start = () => {
  const provider = new Provider(issuer, configuration());
  // Visible with PORTCULLIS_IDP_LOG=1 (the harness inherits stderr then).
  provider.on('backchannel.error', (_ctx, err, client) => {
    process.stderr.write(`backchannel logout to ${client.clientId} failed: ${err.message} ${err.cause?.message ?? ""} ${err.cause?.code ?? ""}\n`);
  });
  provider.on('backchannel.success', (_ctx, client) => {
    process.stderr.write(`backchannel logout to ${client.clientId} delivered\n`);
  });
  return provider.callback();
};

const counters = {};
// A new Provider instance shares the old one's grants and sessions (the memory adapter is
// module-wide), so a rotation ends nothing but the old key's turn to sign.
let callback = start();
let rotations = 0;
let failures = { left: 0 };
server.on('request', (req, res) => {
  if (req.url === '/_test/counters') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(counters));
    return;
  }
  if (req.method === 'POST' && req.url === '/_test/rotate') {
    rotations += 1;
    const next = rsaJwk(`idp-rs256-${rotations}`);
    signingKeys = [next.private, ...signingKeys];
    callback = start();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kid: next.public.kid }));
    return;
  }
  if (req.method === 'POST' && req.url.startsWith('/_test/fail-token')) {
    const query = new URL(req.url, issuer).searchParams;
    failures = {
      left: Number(query.get('count') ?? 1),
      status: Number(query.get('status') ?? 500),
      error: query.get('error'),
    };
    res.end('{}');
    return;
  }
  if (req.method === 'POST' && req.url.startsWith('/token') && failures.left > 0) {
    failures.left -= 1;
    counters.failed = (counters.failed ?? 0) + 1;
    res.statusCode = failures.status;
    res.setHeader('content-type', 'application/json');
    res.end(failures.error ? JSON.stringify({ error: failures.error }) : '');
    return;
  }
  if (req.method === 'POST' && req.url.startsWith('/token')) {
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    const client = basic
      ? decodeURIComponent(Buffer.from(basic[1], 'base64').toString().split(':')[0])
      : 'other';
    counters[client] = (counters[client] ?? 0) + 1;
    counters.total = (counters.total ?? 0) + 1;
    if (TOKEN_DELAY > 0) {
      setTimeout(() => callback(req, res), TOKEN_DELAY);
      return;
    }
  }
  callback(req, res);
});

process.stdout.write(`${JSON.stringify({
  issuer,
  jwt_api: JWT_API,
  opaque_api: OPAQUE_API,
  secrets,
  assertion_key_pem: assertionKey.pem,
  assertion_key_kid: assertionKey.public.kid,
})}\n`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => { server.close(); process.exit(0); });
}

// The peer of OneID's side-by-side benchmark (bench/side_by_side.sh): panva's oidc-provider,
// pinned in package.json, configured as the issue describes it — in-memory adapter (the
// library's own), opaque access tokens (no resource indicators, so no JWT access tokens),
// client credentials and introspection on, the development login pages (any login, any
// password), RS256 ID tokens. Run with NODE_ENV=production.
//
//   node provider.mjs keys FILE   # writes a private JWKS (RSA-2048, P-256, Ed25519) once
//   node provider.mjs             # serves; settings from the environment:
//
// PEER_ISSUER (http://127.0.0.1:PORT, the port is listened on), PEER_JWKS_FILE,
// PEER_COOKIE_KEY, PEER_CC_ID / PEER_CC_SECRET (the client_credentials client),
// PEER_CODE_ID / PEER_CODE_SECRET / PEER_REDIRECT_URI (the code-flow client).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

import Provider from 'oidc-provider';

if (process.argv[2] === 'keys') {
  // Keys are made once, before the timed starts, as a deployment would load them from a file:
  // start-up time then measures starting, not key generation.
  const jwk = (type, options) => ({
    ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }),
    use: 'sig',
    kid: randomBytes(8).toString('hex'),
  });
  const keys = [
    // First: the RSA key signs the RS256 ID tokens.
    jwk('rsa', { modulusLength: 2048 }),
    jwk('ec', { namedCurve: 'P-256' }),
    jwk('ed25519'),
  ];
  writeFileSync(process.argv[3], JSON.stringify({ keys }), { mode: 0o600 });
  process.exit(0);
}

function setting(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

const issuer = setting('PEER_ISSUER');
const { port, hostname } = new URL(issuer);

// Every login is an account whose only claim is its subject: the development login checks no
// password, so there is no user store to read.
async function findAccount(ctx, sub) {
  return { accountId: sub, claims: async () => ({ sub }) };
}

// A first-party app is never shown a consent screen: when the session holds no grant for the
// client yet, one is made covering the OpenID scopes it asked for (the library's documented
// way to skip consent). Later requests find the session's grant, as by default.
async function loadExistingGrant(ctx) {
  const { oidc } = ctx;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
  if (grantId) {
    return oidc.provider.Grant.find(grantId);
  }
  const grant = new oidc.provider.Grant({
    clientId: oidc.client.clientId,
    accountId: oidc.session.accountId,
  });
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
  await grant.save();
  return grant;
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: setting('PEER_CC_ID'),
      client_secret: setting('PEER_CC_SECRET'),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: setting('PEER_CODE_ID'),
      client_secret: setting('PEER_CODE_SECRET'),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [setting('PEER_REDIRECT_URI')],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: JSON.parse(readFileSync(setting('PEER_JWKS_FILE'), 'utf8')),
  cookies: { keys: [setting('PEER_COOKIE_KEY')] },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
  },
  // Lifetimes in seconds, OneID's defaults (config/oneid.example.toml): the library asks for
  // them to be set, and equal lifetimes keep the two in-memory states comparable.
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    Grant: 2_592_000,
    IdToken: 600,
    Interaction: 3600,
    Session: 604_800,
  },
  findAccount,
  loadExistingGrant,
});

provider.listen(Number(port), hostname);

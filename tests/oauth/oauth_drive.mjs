// The official TypeScript MCP SDK (1.x, pinned in tests/tsclient/sdk-v1) signing in to
// phaseo-mcp's --auth oauth mode the way a host does: a 401, discovery, dynamic registration,
// PKCE authorization, token, then tool calls.
//
//   node oauth_drive.mjs SERVER_URL REDIRECT_URI SCOPE
//
// The browser step is the test's: this prints "AUTHORIZE <url>" and reads "CODE <code>" from
// stdin. At the end it prints "RESULT <json>" (each call's outcome) and exits.
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const [serverUrl, redirectUri, scope] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const stored = { client: undefined, tokens: undefined, verifier: undefined };
const seen = { authorizeUrl: null, registered: false };

const provider = {
  get redirectUrl() { return redirectUri; },
  get clientMetadata() {
    return {
      client_name: 'phaseo-oauth-ts-test',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope,
    };
  },
  clientInformation() { return stored.client; },
  saveClientInformation(info) { stored.client = info; seen.registered = true; },
  tokens() { return stored.tokens; },
  saveTokens(tokens) { stored.tokens = tokens; },
  redirectToAuthorization(url) { seen.authorizeUrl = url.toString(); },
  saveCodeVerifier(v) { stored.verifier = v; },
  codeVerifier() { return stored.verifier; },
};

const result = { first_connect: null, calls: {} };
let transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider });
let client = new Client({ name: 'phaseo-oauth-ts', version: '0.0.0' });
try {
  await client.connect(transport);
  result.first_connect = 'connected without signing in';
} catch (err) {
  result.first_connect = err instanceof UnauthorizedError ? 'unauthorized' : String(err);
}
if (seen.authorizeUrl) {
  process.stdout.write(`AUTHORIZE ${seen.authorizeUrl}\n`);
  const { value } = await lines.next();
  const code = String(value).replace(/^CODE /, '').trim();
  await transport.finishAuth(code);
  transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider });
  client = new Client({ name: 'phaseo-oauth-ts', version: '0.0.0' });
  await client.connect(transport);
  for (const [name, args] of [
    ['list_video_models', {}],
    ['create_video', { model: 'google/veo-3.1-lite', prompt: 'a heron at dawn', duration: 8 }],
    ['list_videos', {}],
  ]) {
    const got = await client.callTool({ name, arguments: args });
    result.calls[name] = { isError: Boolean(got.isError), structured: got.structuredContent ?? null };
  }
  await client.close();
}
result.registered = seen.registered;
result.access_token = stored.tokens?.access_token ?? null;
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);

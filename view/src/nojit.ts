// Imported first, so it runs before any schema is built or parsed: no eval under the host's
// CSP (script-src has no 'unsafe-eval'), and zod must not even probe for it.
import { config } from "zod/v4/core";

config({ jitless: true });

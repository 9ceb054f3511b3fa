/**
 * Mints tokens from the DEMO identity provider (trust-anchors/demo-idp.yaml), for trying actbridge
 * with curl. Prints shell assignments: `eval "$(npm run -s demo:tokens)"`.
 *   USER_TOKEN   a user's JWT access token (sub alice, scope "read write"), audience actbridge
 *   AGENT_TOKEN  the agent's own token (sub agent-1), to present as actor_token
 *   ID_TOKEN     alice's OpenID Connect ID token, issued to client `chat-agent` (the Cross App Access
 *                walk-through in README.md, examples/xaa/)
 */
import { DemoIdp } from '../demo-idp/demo-idp.js';

const idp = await DemoIdp.load();
const [user, agent, idToken] = await Promise.all([idp.userToken(), idp.agentToken(), idp.idToken()]);
process.stdout.write(`USER_TOKEN=${user}\nAGENT_TOKEN=${agent}\nID_TOKEN=${idToken}\n`);

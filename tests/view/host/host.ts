// The test host page: embeds the player exactly as an MCP Apps host does (a sandboxed
// iframe with a CSP, the extension's own AppBridge on a PostMessageTransport) and relays the
// view's tools/call and resources/read to window.mcpCall, which the driver (drive_player.mjs)
// answers with a real TypeScript SDK client connected to phaseo-mcp over stdio.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

type Csp = { resourceDomains?: string[] };
interface Start {
  html: string;
  csp: string; // the Content-Security-Policy the host applies
  approved: Csp; // what it tells the view (hostCapabilities.sandbox.csp)
  theme: "light" | "dark";
}
declare global {
  interface Window {
    mcpCall(method: string, params: unknown): Promise<any>;
    startPlayer(start: Start): Promise<void>;
    deliver(input: Record<string, unknown>, result: unknown): Promise<void>;
    hostEvents: string[];
  }
}

let bridge: AppBridge | null = null;
window.hostEvents = [];

window.startPlayer = async ({ html, csp, approved, theme }) => {
  const iframe = document.createElement("iframe");
  iframe.id = "player";
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.style.cssText = "width:720px;height:480px;border:1px solid #ccc;display:block";
  const meta = `<meta http-equiv="Content-Security-Policy" content="${csp.replaceAll('"', "&quot;")}">`;
  iframe.srcdoc = html.replace(/<head>/i, `<head>${meta}`);
  document.body.append(iframe);
  bridge = new AppBridge(
    null,
    { name: "phaseo-test-host", version: "1.0.0" },
    { serverTools: {}, serverResources: {}, logging: {}, sandbox: { csp: approved } },
    {
      hostContext: {
        theme,
        displayMode: "inline",
        availableDisplayModes: ["inline", "fullscreen"],
        containerDimensions: { width: 720, maxHeight: 900 },
        platform: "web",
      },
    },
  );
  bridge.oncalltool = (params) => window.mcpCall("tools/call", params);
  bridge.onreadresource = (params) => window.mcpCall("resources/read", params);
  bridge.onsizechange = ({ height }) => {
    if (height) iframe.style.height = `${Math.ceil(height)}px`;
  };
  bridge.onrequestdisplaymode = async ({ mode }) => {
    window.hostEvents.push(`display ${mode}`);
    return { mode };
  };
  bridge.onloggingmessage = (p) => window.hostEvents.push(`log ${JSON.stringify(p)}`);
  const ready = new Promise<void>((done) => {
    bridge!.oninitialized = () => done();
  });
  await bridge.connect(new PostMessageTransport(iframe.contentWindow!, iframe.contentWindow!));
  await ready;
  window.hostEvents.push("initialized");
};

window.deliver = async (input, result) => {
  await bridge!.sendToolInput({ arguments: input });
  await bridge!.sendToolResult(result as never);
  window.hostEvents.push("delivered");
};

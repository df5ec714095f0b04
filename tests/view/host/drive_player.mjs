// Drives the inline player in Debian's chromium: a TypeScript SDK stdio client (default
// message limits) talks to phaseo-mcp on the emulator, the host page (host.ts, AppBridge)
// embeds the player, and every scenario writes what the browser saw into a JSON report.
//
//   node drive_player.mjs CONFIG.json REPORT.json
//
// CONFIG: {chromium, server: {command, args, env}, emulator_root, out_dir,
//          scenarios: [{name, csp: "default" | "declared", plan, create, download, theme}]}
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import puppeteer from "puppeteer-core";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

const [configPath, reportPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, "utf8"));
const PLAYER = "ui://phaseo/player.html";
const UI = "io.modelcontextprotocol/ui";
const DEFAULT_CSP = "default-src 'none'; script-src 'self' 'unsafe-inline'; " +
  "style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' data:; connect-src 'none'";
const report = { detector: null, scenarios: [], tools: [], errors: [] };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function declaredCsp(domains) {
  const extra = domains.join(" ");
  return "default-src 'none'; " + `script-src 'self' 'unsafe-inline' ${extra}; ` +
    `style-src 'self' 'unsafe-inline' ${extra}; img-src 'self' data: ${extra}; ` +
    `font-src ${extra}; media-src 'self' data: ${extra}; connect-src 'none'`;
}

async function admin(path, body) {
  const r = await fetch(config.emulator_root + path, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}),
  });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

const bundle = (await build({
  entryPoints: [new URL("./host.ts", import.meta.url).pathname], bundle: true, write: false,
  format: "iife", target: "es2022", platform: "browser", logLevel: "silent",
})).outputFiles[0].text;
const hostPage = `<!doctype html><html><head><meta charset="utf-8"><title>host</title></head>` +
  `<body style="margin:0;background:#fff"><script>${bundle.replaceAll("</script", "<\\/script")}</script></body></html>`;

const client = new Client({ name: "phaseo-player-host", version: "1.0.0" },
  { capabilities: { extensions: { [UI]: { mimeTypes: ["text/html;profile=mcp-app"] } } } });
const transport = new StdioClientTransport({ ...config.server, stderr: "pipe" });
let stderr = "";
transport.stderr?.on("data", (d) => { stderr = (stderr + d).slice(-4000); });
let closed = false;
client.onclose = () => { closed = true; };
await client.connect(transport);
report.tools = (await client.listTools()).tools.map((t) => ({ name: t.name, ui: t._meta?.ui ?? null }));
const resource = (await client.readResource({ uri: PLAYER })).contents[0];
const domains = resource._meta?.ui?.csp?.resourceDomains ?? [];
report.resource = { mimeType: resource.mimeType, domains, bytes: resource.text.length };

const userDataDir = mkdtempSync(join(tmpdir(), "phaseo-chromium-"));
const browser = await puppeteer.launch({
  executablePath: config.chromium, headless: true, userDataDir,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--autoplay-policy=user-gesture-required"],
});

// Every frame records CSP violations into window.__csp before any of its own script runs.
async function newHostPage() {
  const page = await browser.newPage();
  await page.setViewport({ width: 760, height: 900 });
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__csp.push(`${e.effectiveDirective} ${e.blockedURI}`));
  });
  const cdp = await page.createCDPSession();
  const logged = [];
  cdp.on("Log.entryAdded", ({ entry }) => {
    if (/Content Security Policy/i.test(entry.text)) logged.push(entry.text.slice(0, 300));
  });
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) logged.push(m.text().slice(0, 300)); });
  await cdp.send("Log.enable");
  await page.exposeFunction("mcpCall", async (method, params) => {
    if (method === "tools/call") return client.callTool(params);
    if (method === "resources/read") return client.readResource(params);
    throw new Error(`unexpected ${method}`);
  });
  await page.setContent(hostPage);
  return { page, logged };
}

async function playerFrame(page) {
  for (let i = 0; i < 100; i++) {
    const frame = page.frames().find((f) => f !== page.mainFrame());
    if (frame) return frame;
    await sleep(100);
  }
  throw new Error("no player frame");
}

async function violations(page, logged) {
  const found = [...logged];
  for (const frame of page.frames()) {
    try { found.push(...(await frame.evaluate(() => window.__csp ?? []))); } catch { /* gone */ }
  }
  return found;
}

// Detector proof: a page that breaks the default CSP on purpose must be reported.
{
  const { page, logged } = await newHostPage();
  const bad = "<!doctype html><html><head></head><body><img src='http://127.0.0.1:9/x.png'>" +
    "<video src='http://127.0.0.1:9/x.mp4'></video></body></html>";
  await page.evaluate((html, csp) => {
    const f = document.createElement("iframe");
    f.setAttribute("sandbox", "allow-scripts");
    f.srcdoc = html.replace("<head>", `<head><meta http-equiv="Content-Security-Policy" content="${csp}">`);
    document.body.append(f);
  }, bad, DEFAULT_CSP);
  let seen = [];
  for (let i = 0; i < 50 && seen.length === 0; i++) { await sleep(100); seen = await violations(page, logged); }
  report.detector = seen;
  await page.close();
}

const read = (frame) => frame.evaluate(() => {
  const v = document.getElementById("video");
  return {
    status: document.getElementById("status")?.textContent ?? "",
    note: document.getElementById("note")?.textContent ?? "",
    facts: document.getElementById("facts")?.textContent ?? "",
    readyState: v?.readyState ?? 0, duration: v?.duration ?? null,
    src: v?.currentSrc ? v.currentSrc.slice(0, 40) : "", srcLength: v?.currentSrc?.length ?? 0,
    error: v?.error ? v.error.code : null, theme: document.documentElement.dataset.theme ?? null,
  };
});

for (const sc of config.scenarios) {
  const out = { name: sc.name, progress: [], statuses: [], final: null, violations: [], error: null };
  report.scenarios.push(out);
  const { page, logged } = await newHostPage();
  try {
    const approved = sc.csp === "declared" ? { resourceDomains: domains } : {};
    const csp = sc.csp === "declared" ? declaredCsp(domains) : DEFAULT_CSP;
    await page.evaluate((s) => window.startPlayer(s), { html: resource.text, csp, approved, theme: sc.theme ?? "light" });
    const frame = await playerFrame(page);
    await admin("/_emulator/plans", sc.plan ?? {});
    const created = await client.callTool({ name: "create_video", arguments: sc.create });
    if (created.isError) throw new Error(JSON.stringify(created.content));
    out.video_id = created.structuredContent.video_id;
    await page.evaluate((i, r) => window.deliver(i, r), sc.create, created);
    // Emulated time stands still until we move it: each step must show more progress.
    let state = await read(frame);
    for (let step = 0; step < 30; step++) {
      const before = state.status;
      await admin("/_emulator/clock/advance", { seconds: sc.step_seconds ?? 2 });
      for (let i = 0; i < 100; i++) {
        state = await read(frame);
        if (state.status !== before) break;
        await sleep(100);
      }
      out.statuses.push(state.status);
      const m = state.status.match(/(\d+) %/);
      if (m && !/completed/.test(state.status)) out.progress.push(Number(m[1]));
      if (/completed|failed|expired|cancelled/.test(state.status)) break;
    }
    if (sc.download) {
      const saved = await client.callTool({ name: "download_video", arguments: { video_id: out.video_id } });
      out.saved = saved.structuredContent?.files?.[0] ?? null;
    }
    for (let i = 0; i < 1200; i++) {
      state = await read(frame);
      if (state.readyState >= 2 || state.error !== null) break;
      await sleep(100);
    }
    await sleep(300);
    state = await read(frame);
    out.final = state;
    const element = await page.$("#player");
    if (sc.screenshot) await element.screenshot({ path: sc.screenshot });
    if (sc.fullscreen) { // the view asks the host for full screen through ui/request-display-mode
      await frame.click("#fullscreen");
      for (let i = 0; i < 50; i++) {
        out.display_mode = await frame.evaluate(() => document.body.dataset.mode ?? null);
        if (out.display_mode === "fullscreen") break;
        await sleep(100);
      }
      out.exit_button = await frame.evaluate(() => {
        const b = document.getElementById("fullscreen");
        return b && !b.hidden ? b.textContent : null;
      });
      out.display_requests = await page.evaluate(() => window.hostEvents.filter((e) => e.startsWith("display")));
    }
    out.violations = await violations(page, logged);
    out.host_events = await page.evaluate(() => window.hostEvents);
  } catch (error) {
    out.error = String(error?.stack ?? error);
  }
  await page.close();
}

report.client_closed = closed;
report.stderr_tail = stderr;
await browser.close();
rmSync(userDataDir, { recursive: true, force: true });
await client.close();
writeFileSync(reportPath, JSON.stringify(report, null, 2));

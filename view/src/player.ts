// The inline player of phaseo-mcp (MCP Apps view). It follows one video job through the
// app-only tool player_update, at the job's own pace, then plays the video: from a signed URL
// (allowed by the resource's CSP) or from base64 chunks of the file the server saved,
// assembled into a data: URL (the spec's default CSP allows data: media, not blob:).
import "./nojit";
import {
  App,
  applyDocumentTheme,
  applyHostStyleVariables,
  type McpUiHostContext,
} from "@modelcontextprotocol/ext-apps";

const TOOL = "player_update";
const MAX_POLLS = 2000; // a bounded loop, whatever the job does
const MAX_RECHECKS = 40; // finished but not playable here yet (e.g. not saved yet)

type Source =
  | { kind: "url"; url: string; expires_at: number | null }
  | { kind: "inline"; mime_type: string; bytes: number; chunks: number }
  | { kind: "none" };

interface View {
  video_id: string;
  status: string;
  terminal: boolean;
  progress: number | null;
  poll_after_seconds: number | null;
  cost_usd: number | null;
  duration_seconds: number | null;
  size: string | null;
  bytes: number | null;
  message: string | null;
  source: Source | null;
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const statusEl = $("status");
const bar = $<HTMLProgressElement>("bar");
const facts = $("facts");
const note = $("note");
const video = $<HTMLVideoElement>("video");
const full = $<HTMLButtonElement>("fullscreen");
const again = $<HTMLButtonElement>("again");

const app = new App({ name: "phaseo-player", version: "1.0.0" }, {}, { autoResize: true });
let following: string | null = null;

function applyContext(ctx: McpUiHostContext | undefined): void {
  if (!ctx) return;
  if (ctx.theme) applyDocumentTheme(ctx.theme);
  if (ctx.styles?.variables) applyHostStyleVariables(ctx.styles.variables);
  if (ctx.displayMode) document.body.dataset.mode = ctx.displayMode;
  const modes = ctx.availableDisplayModes ?? [];
  full.hidden = !modes.includes("fullscreen");
  full.textContent = ctx.displayMode === "fullscreen" ? "Exit full screen" : "Full screen";
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function update(args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = await app.callServerTool({ name: TOOL, arguments: args });
  if (result.isError) {
    const text = result.content?.map((c) => ("text" in c ? c.text : "")).join(" ");
    throw new Error(text || "the player could not reach the server");
  }
  return (result.structuredContent ?? {}) as Record<string, unknown>;
}

function show(view: View): void {
  const pct = view.progress ?? (view.status === "completed" ? 100 : null);
  statusEl.textContent = pct === null ? view.status : `${view.status} — ${Math.round(pct)} %`;
  statusEl.dataset.status = view.status;
  if (pct === null) bar.removeAttribute("value");
  else bar.value = pct;
  bar.hidden = view.status === "completed" || view.terminal;
  const bits: string[] = [];
  if (view.duration_seconds) bits.push(`${view.duration_seconds} s`);
  if (view.size) bits.push(view.size);
  if (view.bytes) bits.push(`${(view.bytes / 1048576).toFixed(1)} MB`);
  if (view.cost_usd !== null && view.cost_usd !== undefined) bits.push(`$${view.cost_usd.toFixed(2)}`);
  facts.textContent = bits.join(" · ");
  note.textContent = view.message ?? "";
}

async function playInline(view: View, source: Source & { kind: "inline" }): Promise<void> {
  const parts: string[] = [];
  for (let i = 0; i < source.chunks; i++) {
    note.textContent = `Loading the video… ${Math.round((i / source.chunks) * 100)} %`;
    const piece = await update({ video_id: view.video_id, chunk: i });
    parts.push(String(piece.data ?? ""));
  }
  note.textContent = "";
  video.src = `data:${source.mime_type};base64,${parts.join("")}`;
  video.hidden = false;
}

function playUrl(source: Source & { kind: "url" }): void {
  video.src = source.url;
  video.hidden = false;
}

// The origins the host lets media come from, when it says (hostCapabilities.sandbox.csp).
function hostAllows(url: string): boolean {
  const csp = app.getHostCapabilities()?.sandbox?.csp;
  if (!csp) return true; // the host did not say: it applies the resource's declared CSP
  const origin = new URL(url).origin;
  return (csp.resourceDomains ?? []).some((d) => d === origin || (d.includes("*.") &&
    origin.endsWith(d.slice(d.indexOf("*.") + 1)) && origin.startsWith(d.slice(0, d.indexOf("*.")))));
}

async function follow(videoId: string): Promise<void> {
  again.hidden = true;
  await track(videoId);
  // Stopped without a video to play (not saved yet, too large, failed): the person may retry.
  if (following === videoId && video.hidden) again.hidden = false;
}

async function track(videoId: string): Promise<void> {
  following = videoId;
  let rechecks = 0;
  let fresh = false;
  let noLink = false;
  for (let poll = 0; poll < MAX_POLLS && following === videoId; poll++) {
    let view: View;
    try {
      const args = { video_id: videoId, ...(fresh ? { fresh_link: true } : {}),
        ...(noLink ? { no_link: true } : {}) };
      view = (await update(args)) as unknown as View;
    } catch (error) {
      note.textContent = String((error as Error).message ?? error);
      await sleep(5000);
      continue;
    }
    fresh = false;
    show(view);
    const wait = Math.max(view.poll_after_seconds ?? 2, 1) * 1000;
    const source = view.source;
    if (source?.kind === "url" && !hostAllows(source.url)) {
      noLink = true; // never trip the host's CSP: ask for the saved file instead
      continue;
    }
    if (source?.kind === "url") {
      playUrl(source);
      const failed = await new Promise<boolean>((done) => {
        video.addEventListener("loadeddata", () => done(false), { once: true });
        video.addEventListener("error", () => done(true), { once: true });
      });
      if (!failed) return;
      fresh = true; // expired or refused link: ask the server for a new one, never the model
      if (++rechecks > 1) noLink = true; // a fresh link failed too: try the saved file
      await sleep(wait);
      continue;
    }
    if (source?.kind === "inline") {
      await playInline(view, source);
      return;
    }
    if (view.terminal && (view.status !== "completed" || ++rechecks > MAX_RECHECKS)) return;
    await sleep(view.terminal ? Math.max(wait, 5000) : wait);
  }
}

video.addEventListener("loadedmetadata", () => {
  if (video.currentTime === 0) video.currentTime = Math.min(0.1, video.duration / 2); // poster frame
});
full.addEventListener("click", () => {
  const mode = document.body.dataset.mode === "fullscreen" ? "inline" : "fullscreen";
  app.requestDisplayMode({ mode }).then(
    (r) => applyContext({ ...app.getHostContext(), displayMode: r.mode }),
    () => {},
  );
});

again.addEventListener("click", () => {
  if (following) void follow(following);
});

app.ontoolinput = () => {
  statusEl.textContent = "Starting the video job…";
};
app.ontoolresult = (result) => {
  const data = (result.structuredContent ?? {}) as Record<string, unknown>;
  if (result.isError || typeof data.video_id !== "string") {
    statusEl.textContent = "No video job was started.";
    note.textContent = result.content?.map((c) => ("text" in c ? c.text : "")).join(" ") ?? "";
    return;
  }
  void follow(data.video_id);
};
app.ontoolcancelled = () => {
  following = null;
  statusEl.textContent = "The request was cancelled.";
};
app.onhostcontextchanged = (ctx) => applyContext({ ...app.getHostContext(), ...ctx });
app.onteardown = async () => {
  following = null;
  return {};
};

await app.connect();
applyContext(app.getHostContext());

// Drives phaseo-mcp with an official TypeScript MCP client SDK, as a host embedding it would,
// and writes a JSON report of every check.
//
//   node drive.mjs CONFIG.json REPORT.json
//
// CONFIG: {sdk: "v1" | "v2", eras: ["legacy", "auto"], transport: "stdio" | "http",
//          server: {command, args, env, cwd} (stdio) | url + token (http),
//          emulator_root, output_dir, download_mode: "file" | "url", tag}
// sdk v1 is @modelcontextprotocol/sdk (1.x, what most shipping hosts embed); v2 is
// @modelcontextprotocol/client (2.x). The run copies this file next to a node_modules link to
// the pinned install, so the bare imports below resolve to that SDK.
//
// Beyond each check, the report counts what a host would trip over: schema-validation throws
// (both SDKs validate structuredContent against the tool's outputSchema after tools/list) and
// progress notifications that reached the transport but not the call's onprogress callback.

import { readFileSync, writeFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { countingProxy } from './wiretap.mjs';

const [configPath, reportPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, 'utf8'));

function installed(pkg) {
    return JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), 'utf8'));
}

async function loadSdk(sdk) {
    if (sdk === 'v1') {
        const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
        const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
        const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
        const pkg = installed('@modelcontextprotocol/sdk');
        return {
            version: pkg.version,
            makeClient: () => new Client({ name: 'phaseo-tsclient-v1', version: '0.0.0' }),
            StdioClientTransport,
            StreamableHTTPClientTransport,
            callTool: (client, params, options) => client.callTool(params, undefined, options),
        };
    }
    const mod = await import('@modelcontextprotocol/client');
    const { StdioClientTransport } = await import('@modelcontextprotocol/client/stdio');
    const pkg = installed('@modelcontextprotocol/client');
    return {
        version: pkg.version,
        makeClient: (era) =>
            new mod.Client({ name: 'phaseo-tsclient-v2', version: '0.0.0' }, { versionNegotiation: { mode: era } }),
        StdioClientTransport,
        StreamableHTTPClientTransport: mod.StreamableHTTPClientTransport,
        callTool: (client, params, options) => client.callTool(params, options),
    };
}

const report = {
    sdk: config.sdk,
    sdk_version: null,
    transport: config.transport,
    checks: [],
    validation_throws: [],
    client_errors: [],
    close_errors: [],
    progress: [],
    eras: {},
    stderr_tail: '',
};

function check(name, ok, detail = '') {
    report.checks.push({ name, ok: Boolean(ok), detail: ok ? '' : String(detail).slice(0, 2000) });
    return Boolean(ok);
}

function isValidationThrow(error) {
    return /output ?schema|structured content/i.test(String(error?.message ?? error));
}

function describe(error) {
    return `${error?.name ?? 'Error'}(${error?.code ?? ''}): ${error?.message ?? error}`;
}

function isTimeout(error) {
    return error?.code === -32001 || error?.code === 'REQUEST_TIMEOUT' || /timed? ?out/i.test(String(error?.message));
}

async function admin(path, body) {
    const response = await fetch(config.emulator_root + path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`emulator ${path}: HTTP ${response.status}`);
    return response.json();
}

function errorFields(result) {
    // An isError result carries its fields (failure_kind, next_call…) as a compact JSON text block.
    for (const block of [...(result.content ?? [])].reverse()) {
        if (block.type !== 'text') continue;
        try {
            const value = JSON.parse(block.text);
            if (value && typeof value === 'object') return value;
        } catch {
            /* the sentence, not the JSON */
        }
    }
    return {};
}

function mp4Boxes(bytes) {
    const boxes = [];
    let offset = 0;
    while (offset + 8 <= bytes.length && boxes.length < 64) {
        const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 8);
        let size = view.getUint32(0);
        const kind = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
        if (size === 1) size = Number(new DataView(bytes.buffer, bytes.byteOffset + offset + 8, 8).getBigUint64(0));
        if (size === 0) size = bytes.length - offset;
        if (size < 8 || offset + size > bytes.length) return [...boxes, `bad@${offset}`];
        boxes.push(kind);
        offset += size;
    }
    return boxes;
}

function readHead(path, n) {
    const fd = openSync(path, 'r');
    try {
        const buf = Buffer.alloc(n);
        const got = readSync(fd, buf, 0, n, 0);
        return buf.subarray(0, got);
    } finally {
        closeSync(fd);
    }
}

// One connection in one protocol era: every tool, errors, progress, resources.
async function runEra(sdk, era) {
    const tag = `${config.tag}-${era}`;
    const label = (name) => `${era}: ${name}`;
    const raw = new Map(); // progressToken -> notifications that reached the transport
    const tokenOf = new Map(); // call label -> progressToken it was sent with
    const idOf = new Map(); // call label -> JSON-RPC id of its request
    let currentCall = null;
    const client = sdk.makeClient(era);
    let closing = false;
    // Errors while close() aborts the client's own open streams are its shutdown, not ours.
    client.onerror = (error) => (closing ? report.close_errors : report.client_errors).push(`${era}: ${describe(error)}`);

    // What the server put on the wire, counted outside the SDK: a tee in front of the stdio
    // server, or a proxy in front of the HTTP one.
    let transport;
    let wire;
    let proxy = null;
    let stderr = '';
    if (config.transport === 'stdio') {
        const countsPath = fileURLToPath(new URL(`./wire-${era}.json`, import.meta.url));
        const tee = fileURLToPath(new URL('./wiretap.mjs', import.meta.url));
        const { command, args = [] } = config.server;
        transport = new sdk.StdioClientTransport({
            ...config.server,
            command: process.execPath,
            args: [tee, countsPath, command, ...args],
            stderr: 'pipe',
        });
        transport.stderr?.on('data', (chunk) => {
            stderr = (stderr + chunk.toString()).slice(-20000);
        });
        wire = () => JSON.parse(readFileSync(countsPath, 'utf8'));
    } else {
        proxy = await countingProxy(config.url);
        transport = new sdk.StreamableHTTPClientTransport(new URL(proxy.url), {
            requestInit: { headers: { Authorization: `Bearer ${config.token}` } },
        });
        wire = () => proxy.counts;
    }
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
        const token = message?.params?._meta?.progressToken;
        if (message?.method === 'tools/call' && currentCall) {
            idOf.set(currentCall, message.id);
            if (token !== undefined) tokenOf.set(currentCall, token);
        }
        return send(message, options);
    };

    // Calls one tool as a host would; any throw is a failed check (and counted when it is the
    // SDK refusing our structuredContent).
    async function call(name, args, options = {}, callLabel = name) {
        currentCall = label(callLabel);
        try {
            return await sdk.callTool(client, { name, arguments: args }, options);
        } catch (error) {
            if (isValidationThrow(error)) report.validation_throws.push(`${label(callLabel)}: ${describe(error)}`);
            throw error;
        } finally {
            currentCall = null;
        }
    }

    async function tool(name, args, options = {}, callLabel = name) {
        try {
            const result = await call(name, args, options, callLabel);
            check(label(`${callLabel} is not an error`), !result.isError, JSON.stringify(result.content));
            check(label(`${callLabel} has structuredContent`), result.structuredContent !== undefined);
            return result;
        } catch (error) {
            check(label(`${callLabel} did not throw`), false, describe(error));
            return null;
        }
    }

    // kind null: an argument the SDK's own validation refuses (a sentence, no JSON block).
    async function toolError(name, args, kind, callLabel, says) {
        try {
            const result = await call(name, args, {}, callLabel);
            const fields = errorFields(result);
            const text = result.content?.[0]?.text ?? '';
            check(label(`${callLabel} is an isError result`), result.isError === true, JSON.stringify(result));
            if (kind !== null) check(label(`${callLabel} says failure_kind ${kind}`), fields.failure_kind === kind, JSON.stringify(fields));
            check(label(`${callLabel} says what to do`), says.test(text), text);
        } catch (error) {
            check(label(`${callLabel} did not throw`), false, describe(error));
        }
    }

    function progressRecorder(callLabel) {
        const entry = { call: label(callLabel), delivered: 0, raw: null, wire: null, values: [], totals: [] };
        report.progress.push(entry);
        const onprogress = (p) => {
            entry.delivered += 1;
            entry.values.push(p.progress);
            entry.totals.push(p.total ?? null);
        };
        const settle = () => {
            const token = tokenOf.get(entry.call);
            entry.raw = token === undefined ? null : raw.get(String(token)) ?? 0;
            entry.wire = token === undefined ? null : wire()[String(token)] ?? 0;
            return entry;
        };
        return { entry, onprogress, settle };
    }

    await client.connect(transport);
    const onmessage = transport.onmessage;
    transport.onmessage = (message, extra) => {
        if (message?.method === 'notifications/progress') {
            const key = String(message.params?.progressToken);
            raw.set(key, (raw.get(key) ?? 0) + 1);
        }
        return onmessage?.(message, extra);
    };
    const eraInfo = { protocol_version: transport.protocolVersion ?? client.getNegotiatedProtocolVersion?.() ?? null };
    report.eras[era] = eraInfo;
    try {
        // tools/list: the SDKs compile each outputSchema here and validate every later result.
        const listed = await client.listTools();
        const names = listed.tools.map((t) => t.name).sort();
        check(label('tools/list names the seven tools'),
            JSON.stringify(names) === JSON.stringify(['create_video', 'delete_video', 'download_video', 'get_video_status', 'list_video_models', 'list_videos', 'wait_for_video']),
            names.join(','));
        check(label('every tool publishes an outputSchema'), listed.tools.every((t) => t.outputSchema), '');

        const models = await tool('list_video_models', {});
        check(label('list_video_models lists models'), models?.structuredContent?.models?.length > 0);

        // Errors: isError results with a failure_kind, never a throw.
        await toolError('create_video', { model: 'nobody/no-such-model', prompt: 'x', duration: 8 }, 'invalid_input', 'create_video unknown model', /list_video_models/);
        await toolError('create_video', { model: 'google/veo-3.1-lite', prompt: 'x', duraton: 8 }, null, 'create_video misspelt argument', /did you mean 'duration'/);
        await toolError('get_video_status', { video_id: 'video_doesnotexist' }, 'not_found', 'get_video_status unknown id', /video_doesnotexist/);

        // create -> status -> wait (progress, no reset) -> download.
        // Timing: the emulator runs 100x real time, the server 10x (its 2 s polls are 200 ms apart).
        await admin('/_emulator/plans', { seconds: 100 }); // ~1 s: a few progress steps, well within the wait below
        const created = await tool('create_video', { model: 'google/veo-3.1-lite', prompt: `A sunrise over a lake (${tag})`, duration: 8, aspect_ratio: '16:9' });
        const videoId = created?.structuredContent?.video_id;
        check(label('create_video returns a video_id'), typeof videoId === 'string', JSON.stringify(created?.structuredContent));
        if (typeof videoId !== 'string') return;
        const status = await tool('get_video_status', { video_id: videoId });
        check(label('get_video_status names the job'), status?.structuredContent?.video_id === videoId);

        const plain = progressRecorder('wait_for_video (progress, default timeout)');
        const waited = await tool('wait_for_video', { video_id: videoId, timeout_seconds: 120 }, { onprogress: plain.onprogress }, 'wait_for_video (progress, default timeout)');
        plain.settle();
        check(label('wait_for_video ends completed'), waited?.structuredContent?.status === 'completed', JSON.stringify(waited?.structuredContent));
        check(label('progress reached onprogress'), plain.entry.delivered > 0, JSON.stringify(plain.entry));
        // The poll that ends a wait sends none: the result itself says completed.
        check(label('progress is out of 100 and stops short of it'),
            plain.entry.values.at(-1) < 100 && plain.entry.totals.every((t) => t === 100), JSON.stringify(plain.entry));

        if (config.download_mode === 'file') {
            const dl = await tool('download_video', { video_id: videoId, filename: `${tag}.mp4` });
            const file = dl?.structuredContent?.files?.[0];
            check(label('download_video saved a file'), dl?.structuredContent?.mode === 'file' && typeof file?.path === 'string', JSON.stringify(dl?.structuredContent));
            if (typeof file?.path === 'string') {
                check(label('saved file has the reported size'), statSync(file.path).size === file.bytes, `${file.path}`);
                check(label('saved file is an MP4'), mp4Boxes(readHead(file.path, 64)).includes('ftyp'), file.path);
                eraInfo.saved_path = file.path;
            }
            check(label('download_video links the file'), dl?.content?.some((b) => b.type === 'resource_link'), JSON.stringify(dl?.content));
        } else {
            const dl = await tool('download_video', { video_id: videoId });
            const file = dl?.structuredContent?.files?.[0];
            check(label('download_video returned a signed link'), dl?.structuredContent?.mode === 'url' && typeof file?.url === 'string', JSON.stringify(dl?.structuredContent));
            if (typeof file?.url === 'string') {
                const response = await fetch(file.url);
                const bytes = new Uint8Array(await response.arrayBuffer());
                check(label('the signed link serves the MP4'), response.ok && mp4Boxes(bytes).includes('moov') && bytes.length === file.bytes,
                    `HTTP ${response.status}, ${bytes.length} bytes, boxes ${mp4Boxes(bytes)}`);
            }
        }
        await toolError('download_video', { video_id: videoId, filename: '../escape.mp4' }, 'invalid_input', 'download_video bad filename', /bare file name/);

        // Resources: the template and a read.
        const templates = await client.listResourceTemplates();
        check(label('resource template phaseo://videos/{video_id}'),
            templates.resourceTemplates.some((t) => t.uriTemplate === 'phaseo://videos/{video_id}'), JSON.stringify(templates));
        const read = await client.readResource({ uri: `phaseo://videos/${videoId}` });
        const body = JSON.parse(read.contents?.[0]?.text ?? '{}');
        check(label('resource read gives the job'), body.video_id === videoId && body.status === 'completed', JSON.stringify(read));
        try {
            await client.readResource({ uri: 'phaseo://videos/video_doesnotexist' });
            check(label('reading an unknown job is refused'), false, 'no error');
        } catch (error) {
            check(label('reading an unknown job is refused'), !isValidationThrow(error), describe(error));
        }

        const listedVideos = await tool('list_videos', {});
        check(label('list_videos includes the job'), listedVideos?.structuredContent?.videos?.some((v) => v.video_id === videoId));

        // A wait longer than the request timeout: alive only because progress resets it.
        await admin('/_emulator/plans', { seconds: 2000 }); // ~20 s: outlives both 40 s (4 s real) waits below
        const slow = await tool('create_video', { model: 'google/veo-3.1-lite', prompt: `A slow sunset (${tag})`, duration: 8 }, {}, 'create_video (slow job)');
        const slowId = slow?.structuredContent?.video_id;
        if (typeof slowId === 'string') {
            const timeoutMs = 2000; // ten times the gap between notifications, half the call
            const reset = progressRecorder('wait_for_video (resetTimeoutOnProgress)');
            const started = Date.now();
            const kept = await tool('wait_for_video', { video_id: slowId, timeout_seconds: 40 },
                { onprogress: reset.onprogress, resetTimeoutOnProgress: true, timeout: timeoutMs }, 'wait_for_video (resetTimeoutOnProgress)');
            reset.settle();
            const elapsed = Date.now() - started;
            check(label('reset-on-progress kept a call alive past its timeout'), elapsed > timeoutMs && kept?.structuredContent?.budget_exhausted === true,
                `${elapsed} ms, ${JSON.stringify(kept?.structuredContent)}`);
            check(label('the long wait sent many progress notifications'), reset.entry.delivered > 5, JSON.stringify(reset.entry.delivered));

            // The same wait without the reset: the client's timeout ends it.
            currentCall = label('wait_for_video (no reset, times out)');
            const entry = { call: currentCall, delivered: 0, raw: null, values: [], totals: [], timed_out: false };
            try {
                await sdk.callTool(client, { name: 'wait_for_video', arguments: { video_id: slowId, timeout_seconds: 40 } },
                    { onprogress: () => { entry.delivered += 1; }, timeout: timeoutMs });
                check(label('without reset-on-progress the timeout ends the call'), false, 'the call returned');
            } catch (error) {
                if (isValidationThrow(error)) report.validation_throws.push(`${currentCall}: ${describe(error)}`);
                entry.timed_out = isTimeout(error);
                check(label('without reset-on-progress the timeout ends the call'), entry.timed_out, describe(error));
            } finally {
                currentCall = null;
            }
            check(label('progress reached onprogress before the timeout'), entry.delivered > 0, JSON.stringify(entry));
            // What may still arrive for it: its progress, and over HTTP its answer (the Python
            // SDK ends a cancelled request's 2025-era stream with a -32800 error; a stateless
            // server never learns of the cancel and answers when its wait ends).
            eraInfo.timed_out = { token: tokenOf.get(entry.call) ?? null, request_id: idOf.get(entry.call) ?? null };

            // Finish the slow job by moving the emulator's clock, then clean up both.
            await admin('/_emulator/clock/advance', { seconds: 3000 });
            const finished = await tool('get_video_status', { video_id: slowId }, {}, 'get_video_status (after clock advance)');
            check(label('the slow job completed after the clock moved'), finished?.structuredContent?.status === 'completed', JSON.stringify(finished?.structuredContent));
            await tool('delete_video', { video_id: slowId }, {}, 'delete_video (slow job)');
        }
        const deleted = await tool('delete_video', { video_id: videoId });
        check(label('delete_video deleted the job'), deleted?.structuredContent?.deleted === true, JSON.stringify(deleted?.structuredContent));
    } catch (error) {
        check(label('no unexpected throw'), false, `${describe(error)}\n${error?.stack ?? ''}`);
        if (isValidationThrow(error)) report.validation_throws.push(`${era}: ${describe(error)}`);
    } finally {
        closing = true;
        await client.close().catch(() => {});
        await proxy?.close();
        if (stderr) report.stderr_tail += `--- ${era}\n${stderr.slice(-4000)}`;
    }
}

async function main() {
    const sdk = await loadSdk(config.sdk);
    report.sdk_version = sdk.version;
    for (const era of config.eras) await runEra(sdk, era);
    // Stragglers of the deliberately timed-out call arrive after its handler is gone; every
    // other call must have delivered each notification that reached the transport.
    report.dropped_notifications = report.progress.reduce(
        (sum, p) => sum + (p.wire === null ? 0 : Math.max(0, p.wire - p.delivered)), 0);
    report.ok = report.checks.length > 0 && report.checks.every((c) => c.ok) && report.validation_throws.length === 0;
}

const watchdog = setTimeout(() => {
    check('finished before the watchdog', false, `still running after ${config.deadline_ms} ms`);
    writeFileSync(reportPath, JSON.stringify(report, null, 2));
    process.exit(3);
}, config.deadline_ms ?? 240000);

main()
    .catch((error) => check('driver did not crash', false, `${describe(error)}\n${error?.stack ?? ''}`))
    .finally(() => {
        clearTimeout(watchdog);
        writeFileSync(reportPath, JSON.stringify(report, null, 2));
        process.exit(0);
    });

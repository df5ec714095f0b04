// Counts the progress notifications the server puts on the wire, independently of the SDK
// under test: a stdio tee between the client and the server process, or an HTTP reverse proxy
// in front of the server. Counts are per progressToken.
//
//   node wiretap.mjs COUNTS.json COMMAND [ARGS...]     stdio tee; COUNTS.json rewritten as it goes
//   import { countingProxy } from './wiretap.mjs'       HTTP: await countingProxy(upstreamUrl)

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { StringDecoder } from 'node:string_decoder';

// Feeds text in chunks; calls onProgress(token) for each progress notification in a complete line.
function lineScanner(onProgress) {
    const decoder = new StringDecoder('utf8'); // a chunk may end inside a character
    let pending = '';
    return (chunk) => {
        pending += decoder.write(chunk);
        const lines = pending.split('\n');
        pending = lines.pop();
        for (let line of lines) {
            line = line.startsWith('data:') ? line.slice(5) : line;
            if (!line.includes('notifications/progress')) continue;
            try {
                const message = JSON.parse(line);
                if (message.method === 'notifications/progress') onProgress(String(message.params?.progressToken));
            } catch {
                /* not a JSON-RPC line */
            }
        }
    };
}

function bump(counts, token) {
    counts[token] = (counts[token] ?? 0) + 1;
}

export async function countingProxy(upstream) {
    const target = new URL(upstream);
    const counts = {};
    const server = http.createServer((req, res) => {
        const forward = http.request(
            { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
            (answer) => {
                res.writeHead(answer.statusCode, answer.headers);
                const scan = lineScanner((token) => bump(counts, token));
                answer.on('data', (chunk) => {
                    scan(chunk);
                    res.write(chunk);
                });
                answer.on('end', () => res.end());
                answer.on('error', () => res.destroy());
            },
        );
        forward.on('error', () => res.destroy());
        res.on('close', () => forward.destroy()); // a client that stops reading ends the upstream stream too
        req.pipe(forward);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(upstream);
    url.host = `127.0.0.1:${server.address().port}`;
    const close = () => {
        server.closeAllConnections(); // idle keep-alive sockets would hold close() open
        return new Promise((resolve) => server.close(resolve));
    };
    return { url: url.href, counts, close };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()) && process.argv.length > 3) {
    const [countsPath, command, ...args] = process.argv.slice(2);
    const counts = {};
    writeFileSync(countsPath, '{}');
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const scan = lineScanner((token) => {
        bump(counts, token);
        writeFileSync(countsPath, JSON.stringify(counts)); // before the line is passed on
    });
    child.stdout.on('data', (chunk) => {
        scan(chunk);
        process.stdout.write(chunk);
    });
    process.stdin.pipe(child.stdin);
    child.stdin.on('error', () => {});
    for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

// Builds ../phaseo_mcp/server/view/player.html: src/player.ts bundled by esbuild (pinned in
// package-lock.json) into one self-contained HTML document with the bundled libraries'
// licences. Deterministic: the same lock file gives the same bytes (tests rebuild and compare).
import { build } from "esbuild";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "..", "phaseo_mcp", "server", "view", "player.html");
const result = await build({
  entryPoints: [join(here, "src", "player.ts")],
  bundle: true, minify: true, format: "esm", target: "es2022", platform: "browser",
  write: false, metafile: true, outfile: "player.js", legalComments: "none", charset: "utf8",
  absWorkingDir: here,
});
const packages = new Set();
const [output] = Object.values(result.metafile.outputs);
for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
  if (!bytesInOutput) continue;
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) packages.add(m[1]);
}
const byLicence = new Map(); // one copy of each licence text, after every package under it
for (const name of [...packages].sort()) {
  const pkg = JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8"));
  const dir = join(here, "node_modules", name);
  const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  const licence = file ? readFileSync(join(dir, file), "utf8").trim() : `${pkg.license} licence`;
  byLicence.set(licence, [...(byLicence.get(licence) ?? []), `${name}@${pkg.version} (${pkg.license})`]);
}
const notices = [...byLicence].map(([licence, names]) => `${names.join("\n")}\n\n${licence}`);
const comment = ["Phaseo video player for phaseo-mcp (MIT). Built from view/src with esbuild.",
  "It bundles these libraries, under their licences:", ...notices].join("\n\n---\n\n");
const code = result.outputFiles[0].text.replaceAll("</script", "<\\/script");
const template = readFileSync(join(here, "src", "player.html"), "utf8");
const html = template
  .replace("<!doctype html>", `<!doctype html>\n<!--\n${comment.replaceAll("--", "- -")}\n-->`)
  .replace("<!--SCRIPT-->", () => `<script type="module">${code}</script>`);
writeFileSync(out, html);
console.log(`${out}: ${html.length} bytes; bundled ${[...packages].sort().join(", ")}`);

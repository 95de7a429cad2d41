// Compiles contracts/*.sol with solc-js and writes artifacts/<ContractName>.json
// as { contractName, abi, bytecode } (bytecode = creation code, 0x-prefixed).
// Output is deterministic: sources are read in sorted order, artifacts are
// rewritten from scratch and serialised with stable key order.
//
// Usage: npm ci && npm run build   (or: node build.mjs)

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const CONTRACTS_DIR = path.join(ROOT, "contracts");
const ARTIFACTS_DIR = path.join(ROOT, "artifacts");
const NODE_MODULES = path.join(ROOT, "node_modules");

// Compiler settings. Changing any of these changes the committed bytecode.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  // No IPFS/Swarm hash of the metadata in the bytecode: the bytecode then
  // depends only on the code, not on comments or file layout.
  metadata: { bytecodeHash: "none" },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object"] },
  },
};

// Our own sources, keyed by source unit name "contracts/<File>.sol".
const ownFiles = fs
  .readdirSync(CONTRACTS_DIR)
  .filter((f) => f.endsWith(".sol"))
  .sort();
if (ownFiles.length === 0) {
  console.error("no .sol files in contracts/");
  process.exit(1);
}
const sources = {};
for (const f of ownFiles) {
  sources[`contracts/${f}`] = {
    content: fs.readFileSync(path.join(CONTRACTS_DIR, f), "utf8"),
  };
}

// Import callback: only package imports (e.g. "@openzeppelin/contracts/...")
// resolved from this folder's node_modules.
function findImports(importPath) {
  if (!importPath.startsWith("@openzeppelin/") || importPath.split("/").includes("..")) {
    return { error: `import not allowed: ${importPath}` };
  }
  const file = path.join(NODE_MODULES, importPath);
  try {
    return { contents: fs.readFileSync(file, "utf8") };
  } catch (e) {
    return { error: `cannot read ${file}: ${e.message} (run npm ci first?)` };
  }
}

const input = { language: "Solidity", sources, settings: SETTINGS };
console.log(`solc ${solc.version()}`);
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

let failed = false;
for (const err of output.errors ?? []) {
  const msg = err.formattedMessage ?? err.message;
  if (err.severity === "error") {
    failed = true;
    console.error(msg);
  } else {
    console.warn(msg);
  }
}
if (failed) process.exit(1);

fs.rmSync(ARTIFACTS_DIR, { recursive: true, force: true });
fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });

const seen = new Set();
for (const unit of Object.keys(sources)) {
  const contracts = output.contracts?.[unit] ?? {};
  for (const name of Object.keys(contracts).sort()) {
    const c = contracts[name];
    const object = c.evm?.bytecode?.object ?? "";
    if (object.length === 0) continue; // interface / abstract contract
    if (seen.has(name)) {
      console.error(`duplicate contract name ${name}`);
      process.exit(1);
    }
    seen.add(name);
    const artifact = { contractName: name, abi: c.abi, bytecode: `0x${object}` };
    const out = path.join(ARTIFACTS_DIR, `${name}.json`);
    fs.writeFileSync(out, JSON.stringify(artifact, null, 2) + "\n");
    console.log(`wrote ${path.relative(ROOT, out)} (${object.length / 2} bytes of creation code)`);
  }
}

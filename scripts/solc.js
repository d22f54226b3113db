#!/usr/bin/env node
// A `solc` executable over solcjs (the real compiler built to WebAssembly), for machines with no
// native solc and no way to download one. It implements what py-solc-x, brownie and
// crytic-compile call: `--version` and `--standard-json` (input JSON on stdin, output JSON on
// stdout, exit 0 even when the output holds compiler errors, as native solc does).
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const USAGE = 'usage: solc --version | solc --standard-json [--base-path DIR] ' +
  '[--include-path DIR]... [--allow-paths DIR[,DIR]...] < input.json';

// Output is written synchronously: process.stdout.write followed by exit loses data on a pipe.
function emit(text, fd = 1) {
  const buffer = Buffer.from(text);
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}

function parseArgs(argv) {
  const options = { mode: null, basePath: process.cwd(), includePaths: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--version') options.mode = 'version';
    else if (arg === '--standard-json') options.mode = 'standard-json';
    else if (arg === '--base-path') options.basePath = path.resolve(argv[++i]);
    else if (arg === '--include-path') options.includePaths.push(path.resolve(argv[++i]));
    else if (arg === '--allow-paths') i += 1; // the import callback below reads any local file
    else throw new Error(`unsupported argument: ${arg}\n${USAGE}`);
  }
  if (!options.mode) throw new Error(USAGE);
  return options;
}

function importResolver({ basePath, includePaths }) {
  const roots = [basePath, ...includePaths];
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.join(root, importPath));
    for (const candidate of candidates) {
      if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
  };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.mode === 'version') {
    emit(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  const input = fs.readFileSync(0, 'utf8');
  emit(solc.compile(input, { import: importResolver(options) }));
}

try {
  main();
} catch (error) {
  emit(`${error.message}\n`, 2);
  process.exitCode = 1;
}

"use strict";
// V8's compile cache for the bundles on a Node without module.enableCompileCache
// (Node 20): compiling trustlink.cjs and aws-crt.cjs costs ~17 ms at every start
// on a 2-core x86-64, reading V8's cached code of them ~1 ms. The launcher
// requires this file with a folder of the user's own and the build's id. The
// bundles beside it are compiled with the code V8 saved there last time, and
// the code (with the functions this run compiled lazily) is saved when the
// process exits. V8 itself rejects a cache made by another V8 version, flags or
// source; a rejected or unreadable cache is only slower, never an error. Each set
// of Node options has a cache of its own.
const { closeSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } = require("node:fs");
const Module = require("node:module");
const { basename, dirname, join } = require("node:path");
const vm = require("node:vm");

/**
 * "" without Node options, else "-o" and a hash of them: V8 refuses code cached under other
 * flags, so the agent (run with --jitless) and the one-shot commands keep a cache each instead
 * of overwriting each other's. v8.cachedDataVersionTag() would be the exact key, and node:crypto
 * a stock hash, but loading either takes 2-3 ms of the start this cache is there to shorten.
 */
function optionsTag() {
  const options = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ").trim();
  if (options === "") return "";
  let hash = 0x811c9dc5;
  for (let index = 0; index < options.length; index++) hash = Math.imul(hash ^ options.charCodeAt(index), 0x01000193);
  return `-o${(hash >>> 0).toString(16).padStart(8, "0")}`;
}

module.exports = function useCompileCache(cacheDir, buildId) {
  const bundleDir = __dirname;
  const compile = Module.prototype._compile;
  const toSave = [];
  // The build and Node's version name the cache (a new build or Node starts a new one), then the options.
  const release = `${buildId}-${process.version}`;
  const tag = optionsTag();
  Module.prototype._compile = function compileWithCache(content, filename) {
    if (dirname(filename) !== bundleDir) return compile.call(this, content, filename);
    const cacheFile = join(cacheDir, `${basename(filename)}-${release}${tag}.v8`);
    let cachedData;
    try {
      cachedData = readFileSync(cacheFile);
    } catch {}
    const script = new vm.Script(Module.wrap(content), { filename, cachedData });
    if (cachedData === undefined || script.cachedDataRejected) toSave.push({ script, cacheFile, bundle: basename(filename) });
    const bundleRequire = (id) => this.require(id);
    bundleRequire.resolve = (request, options) => Module._resolveFilename(request, this, false, options);
    bundleRequire.cache = Module._cache;
    bundleRequire.main = require.main;
    return script.runInThisContext({ displayErrors: true }).call(this.exports, this.exports, bundleRequire, this, filename, dirname(filename));
  };
  process.once("exit", () => {
    for (const { script, cacheFile, bundle } of toSave) {
      // Written beside, then renamed: a reader sees the old cache or the whole new one.
      const partial = `${cacheFile}.${process.pid}`;
      try {
        const fd = openSync(partial, "wx", 0o600);
        try {
          writeSync(fd, script.createCachedData());
        } finally {
          closeSync(fd);
        }
        renameSync(partial, cacheFile);
        // The caches of earlier builds (or Node versions) of this bundle are never read again.
        const ofThisRelease = `${bundle}-${release}`;
        for (const name of readdirSync(cacheDir)) {
          const current = name === `${ofThisRelease}.v8` || name.startsWith(`${ofThisRelease}-o`);
          if (name.startsWith(`${bundle}-`) && name.endsWith(".v8") && !current) unlinkSync(join(cacheDir, name));
        }
      } catch {}
    }
  });
};

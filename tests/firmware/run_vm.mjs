// Run a Python script in the real MicroPython VM (WebAssembly port) with the firmware,
// the fake machine/bluetooth/aioble modules and the golden vectors in its filesystem.
//
//   node tests/firmware/run_vm.mjs [--heap 512k] [--aioble DIR] <script.py> [args...]
//
// --aioble DIR: also load the real aioble package (DIR/aioble, e.g.
// ../shared/vendor/micropython-lib/aioble) into /vmlib/aioble, with the stand-ins below
// it (tests/firmware/vmlib: bluetooth, asyncio and time on virtual time) in /vmlib,
// searched first.
//
// Layout inside the VM: /lib/hipimu_fw (firmware/hipimu_fw, with @micropython.native
// and @micropython.viper decorators stripped: the WebAssembly VM rejects them),
// /lib/<fakes> (tests/firmware/fakes), /tests (tests/firmware/*.py), /vectors
// (tests/vectors/*.json), /tmp (scratch); the extra args are vmargs.ARGS. Exit code 1 when the
// script raises.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");

let heap = 512 * 1024;
const argv = process.argv.slice(2);
let aioble = null;
for (;;) {
  if (argv[0] === "--heap") {
    const v = argv[1].toLowerCase();
    heap = parseInt(v, 10) * (v.endsWith("m") ? 1048576 : v.endsWith("k") ? 1024 : 1);
    argv.splice(0, 2);
  } else if (argv[0] === "--aioble") {
    aioble = path.resolve(argv[1]);
    argv.splice(0, 2);
  } else break;
}
if (argv.length < 1) {
  console.error("usage: run_vm.mjs [--heap 512k] script.py [args...]");
  process.exit(2);
}
const script = path.resolve(argv[0]);

const STRIP = /^\s*@micropython\.(native|viper)\s*$/gm;

function mkdirs(FS, dir) {
  let cur = "";
  for (const part of dir.split("/").filter(Boolean)) {
    cur += "/" + part;
    try {
      FS.mkdir(cur);
    } catch (e) {
      // exists
    }
  }
}

function copyTree(FS, src, dst, filter) {
  mkdirs(FS, dst);
  for (const ent of fs.readdirSync(src, { withFileTypes: true })) {
    if (ent.name === "__pycache__" || ent.name === "node_modules") continue;
    const s = path.join(src, ent.name);
    const d = dst + "/" + ent.name;
    if (ent.isDirectory()) copyTree(FS, s, d, filter);
    else if (filter(ent.name)) {
      let text = fs.readFileSync(s, "utf8");
      if (ent.name.endsWith(".py")) text = text.replace(STRIP, "");
      FS.writeFile(d, text);
    }
  }
}

let out = "";
const mp = await loadMicroPython({
  heapsize: heap,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
  linebuffer: true,
});
const FS = mp.FS;
const py = (n) => n.endsWith(".py");
copyTree(FS, path.join(root, "firmware", "hipimu_fw"), "/lib/hipimu_fw", py);
copyTree(FS, path.join(here, "fakes"), "/lib", py);
if (aioble !== null) {
  if (!fs.existsSync(path.join(aioble, "aioble", "__init__.py"))) {
    console.error(`no aioble package in ${aioble}`);
    process.exit(2);
  }
  copyTree(FS, path.join(here, "vmlib"), "/vmlib", py);
  copyTree(FS, path.join(aioble, "aioble"), "/vmlib/aioble", py);
}
mkdirs(FS, "/tests");
for (const f of fs.readdirSync(here)) {
  if (f.endsWith(".py")) FS.writeFile("/tests/" + f, fs.readFileSync(path.join(here, f), "utf8"));
}
copyTree(FS, path.join(root, "tests", "vectors"), "/vectors", (n) => n.endsWith(".json"));
mkdirs(FS, "/tmp");

// sys.argv cannot be assigned in this port: the arguments go to a module instead
FS.writeFile("/tests/vmargs.py", "ARGS = " + JSON.stringify(argv.slice(1)) + "\n");
const prelude = `import sys
sys.path[:0] = [${aioble !== null ? "'/vmlib', " : ""}'/tests', '/lib']
`;
const code = prelude + fs.readFileSync(script, "utf8");
try {
  mp.runPython(code);
} catch (e) {
  if (e && e.name === "PythonError") {
    if (e.type === "SystemExit") process.exit(0);
    process.stderr.write(e.message + "\n");
    process.exit(1);
  }
  throw e;
}
void out;

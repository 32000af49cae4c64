#!/usr/bin/env node
// Puts a working mediasoup-worker binary where mediasoup looks for it
// (node_modules/mediasoup/worker/out/Release/mediasoup-worker), the cheapest way
// that works on this machine:
//
//   1. a binary cached by an earlier run (same mediasoup version, same recipe);
//   2. mediasoup's own prebuilt binary from its GitHub release (needs internet);
//   3. a build from the C++ source inside the npm package, against Debian's
//      system libraries, with no network at all (see docs/mediasoup-worker.md).
//
// Whatever is obtained is cached under $CHORUS_WORKER_CACHE_DIR
// (default ~/.cache/chorus/mediasoup-worker), keyed by version, so only the first
// install pays. Finally the worker is started once through mediasoup to prove it runs.
//
// Usage: node scripts/mediasoup-worker.mjs [ensure|build]
//   ensure (default)  as above
//   build             skip cache and download; build from source (refreshes the cache)
// Environment: CHORUS_WORKER_SOURCE=prebuilt|build forces one source.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const msDir = path.join(root, 'node_modules', 'mediasoup');
const targetBin = path.join(msDir, 'worker', 'out', 'Release', 'mediasoup-worker');
const shimHeader = path.join(here, 'worker', 'srtp.h');
const fastGcmSource = path.join(here, 'worker', 'aes_gcm_fast.c');

const log = (msg) => console.log(`[mediasoup-worker] ${msg}`);

function fail(msg) {
  console.error(`[mediasoup-worker] error: ${msg}`);
  process.exit(1);
}

if (!fs.existsSync(path.join(msDir, 'package.json'))) {
  fail('node_modules/mediasoup is missing: run npm ci first');
}
const version = JSON.parse(fs.readFileSync(path.join(msDir, 'package.json'), 'utf8')).version;

// Bump when the build recipe below changes what gets built; the cache key is
// this number plus the bridge header, so editing comments does not cost a rebuild.
const RECIPE_VERSION = 1;
// Which libsrtp the offline build uses (measurements in docs/benchmarks.md):
// - "openssl" (default): Debian's libsrtp2 source package, built static inside
//   the worker build with OpenSSL crypto, its AES-GCM replaced by
//   worker/aes_gcm_fast.c (OpenSSL's gcm128 with an AES-NI block function,
//   without the OpenSSL 3 EVP parameter overhead per packet);
// - "openssl-evp": the same with libsrtp's own EVP-based AES-GCM;
// - "system": Debian's shared libsrtp2, crypto via NSS.
const srtpVariant = process.env.CHORUS_WORKER_SRTP ?? 'openssl';
if (!['system', 'openssl', 'openssl-evp'].includes(srtpVariant)) {
  fail('CHORUS_WORKER_SRTP must be openssl, openssl-evp or system');
}
// io_uring (mediasoup batches socket I/O through it on kernels >= 6): needs
// liburing >= 2.5, newer than bookworm's 2.3, so "on" builds Debian trixie's
// liburing source, static, inside the worker build. Off by default (not yet
// shown to win here; see docs/benchmarks.md).
const uring = process.env.CHORUS_WORKER_URING ?? 'off';
if (!['on', 'off'].includes(uring)) fail('CHORUS_WORKER_URING must be on or off');
// Link-time optimisation of the whole worker (meson b_lto): "off" by default
// until measured (npm run bench:engine).
const lto = process.env.CHORUS_WORKER_LTO ?? 'off';
if (!['on', 'off'].includes(lto)) fail('CHORUS_WORKER_LTO must be on or off');
const recipeHash = createHash('sha256')
  .update(`recipe ${RECIPE_VERSION}\n`)
  .update(srtpVariant === 'system' ? '' : 'srtp openssl\n')
  .update(srtpVariant === 'openssl' ? fs.readFileSync(fastGcmSource) : '')
  .update(uring === 'off' ? '' : 'uring on\n')
  .update(lto === 'off' ? '' : 'lto on\n')
  .update(fs.readFileSync(shimHeader))
  .digest('hex')
  .slice(0, 12);
const cacheRoot =
  process.env.CHORUS_WORKER_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'chorus', 'mediasoup-worker');
const kernelMajor = os.platform() === 'linux' ? `-kernel${os.release().split('.')[0]}` : '';
const prebuiltName = `mediasoup-worker-${version}-${os.platform()}-${os.arch()}${kernelMajor}`;
const cached = {
  prebuilt: path.join(cacheRoot, prebuiltName, 'mediasoup-worker'),
  build: path.join(cacheRoot, `${version}-${os.platform()}-${os.arch()}-offline-${recipeHash}`, 'mediasoup-worker'),
};

function install(from) {
  fs.mkdirSync(path.dirname(targetBin), { recursive: true });
  fs.copyFileSync(from, targetBin);
  fs.chmodSync(targetBin, 0o755);
  log(`installed ${from}`);
}

function cacheFile(src, dest) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  fs.copyFileSync(src, tmp);
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, dest);
}

async function downloadPrebuilt() {
  const url = `https://github.com/versatica/mediasoup/releases/download/${version}/${prebuiltName}.tgz`;
  log(`trying the prebuilt worker: ${url}`);
  let res;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(20_000) });
  } catch (err) {
    log(`no prebuilt worker (${err.cause?.code ?? err.name}: network unreachable?)`);
    return false;
  }
  if (!res.ok) {
    log(`no prebuilt worker (HTTP ${res.status})`);
    return false;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-worker-'));
  try {
    const tgz = path.join(tmp, 'worker.tgz');
    fs.writeFileSync(tgz, Buffer.from(await res.arrayBuffer()));
    execFileSync('tar', ['-xzf', tgz, '-C', tmp]);
    cacheFile(path.join(tmp, 'mediasoup-worker'), cached.prebuilt);
    return true;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// --- the offline build -------------------------------------------------------

// Variables the worker's meson files take from subprojects, and the system
// (pkg-config) libraries that provide them instead.
const systemDeps = `
# --- Chorus: system libraries instead of meson subprojects (no network) ---
openssl_dep = dependency('openssl')
libuv_dep = dependency('libuv')
libsrtp3_dep = declare_dependency(
  dependencies: @SRTP_DEP@,
  # chorus-include/srtp.h bridges the libsrtp 3 API onto libsrtp 2.
  include_directories: include_directories('chorus-include'),
)
usrsctp_dep = dependency('usrsctp')
flatbuffers_dep = dependency('flatbuffers')
absl_container_dep = declare_dependency(dependencies: [
  dependency('absl_flat_hash_map'), dependency('absl_flat_hash_set'),
  dependency('absl_btree'), dependency('absl_inlined_vector'),
])
absl_strings_dep = dependency('absl_strings')
absl_types_dep = declare_dependency(dependencies: [dependency('absl_optional'), dependency('absl_memory')])
catch2_dep = dependency('catch2-with-main', required: false)
# --- end Chorus ---
`;
const providedVars = [
  'openssl_dep', 'libuv_dep', 'libsrtp3_dep', 'usrsctp_dep', 'flatbuffers_dep',
  'absl_container_dep', 'absl_strings_dep', 'absl_types_dep', 'catch2_dep',
];
// Static libraries of those subprojects that the worker links whole; the system
// libraries are linked dynamically instead.
const droppedLibs = ['absl_container_lib', 'libcrypto_lib', 'libssl_lib', 'libuv', 'libsrtp3', 'usrsctp', 'flatbuffers_lib'];

function replaceOnce(text, from, to, file) {
  if (!text.includes(from)) fail(`recipe does not fit ${file}: "${from}" not found`);
  return text.replace(from, to);
}

const srtpDep = {
  system: "dependency('libsrtp2')",
  openssl:
    "subproject('libsrtp2', default_options: ['default_library=static', 'crypto-library=openssl', " +
    "'crypto-library-kdf=disabled', 'tests=disabled', 'doc=disabled', 'warning_level=0']).get_variable('libsrtp2_dep')",
};
srtpDep['openssl-evp'] = srtpDep.openssl;

const hostCodename = () => fs.readFileSync('/etc/os-release', 'utf8').match(/^VERSION_CODENAME=(\w+)/m)?.[1] ?? 'bookworm';

/** A Debian source package (apt-get source, no root needed), unpacked into `dest`. */
function fetchDebianSource(pkg, codename, dest) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `chorus-${pkg}-`));
  try {
    fs.writeFileSync(path.join(tmp, 'sources.list'), `deb-src http://deb.debian.org/debian ${codename} main\n`);
    fs.mkdirSync(path.join(tmp, 'lists', 'partial'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'cache', 'archives', 'partial'), { recursive: true });
    const apt = [
      '-o', `Dir::Etc::sourcelist=${path.join(tmp, 'sources.list')}`,
      '-o', 'Dir::Etc::sourceparts=-',
      '-o', `Dir::State::Lists=${path.join(tmp, 'lists')}`,
      '-o', `Dir::Cache=${path.join(tmp, 'cache')}`,
      // As root, download as root (the _apt user cannot write our temp folder).
      ...(process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : []),
    ];
    run('apt-get', [...apt, 'update', '-qq']);
    run('apt-get', [...apt, 'source', '--download-only', '-qq', pkg], { cwd: tmp });
    const orig = fs.readdirSync(tmp).find((f) => f.startsWith(`${pkg}_`) && /\.orig\.tar\.\w+$/.test(f));
    if (!orig) fail(`apt-get source ${pkg} gave no .orig tarball`);
    fs.mkdirSync(dest, { recursive: true });
    execFileSync('tar', ['-xf', path.join(tmp, orig), '-C', dest, '--strip-components=1']);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Overwrites `target` (which must exist: the recipe must still fit the source) with `source`. */
function replaceFile(target, source) {
  if (!fs.existsSync(target)) fail(`recipe does not fit: ${target} is missing`);
  fs.copyFileSync(source, target);
}

function patchMeson(file, { defineDeps }) {
  let text = fs.readFileSync(file, 'utf8');
  // Drop the top-level `x_proj = subproject(...)` blocks (liburing and
  // wingetopt are inside if-blocks that do not run here).
  const block = /^\w+_proj = subproject\(\n[\s\S]*?\n\)\n/m;
  const first = text.search(block);
  if (first < 0) fail(`recipe does not fit ${file}: no subproject() block`);
  text = text.replace(new RegExp(block.source, 'gm'), '');
  if (defineDeps) text = text.slice(0, first) + systemDeps.replace('@SRTP_DEP@', srtpDep[srtpVariant]) + text.slice(first);
  for (const v of providedVars) {
    text = text.replace(new RegExp(`\\w+_proj\\.get_variable\\('${v}'\\)`, 'g'), v);
  }
  for (const lib of droppedLibs) {
    text = text.replace(new RegExp(`^\\s*\\w+_proj\\.get_variable\\('${lib}'\\),\\n`, 'gm'), '');
  }
  fs.writeFileSync(file, text);
}

function patchSources(src) {
  patchMeson(path.join(src, 'meson.build'), { defineDeps: true });
  patchMeson(path.join(src, 'deps', 'libwebrtc', 'meson.build'), { defineDeps: false });
  fs.mkdirSync(path.join(src, 'chorus-include'));
  fs.copyFileSync(shimHeader, path.join(src, 'chorus-include', 'srtp.h'));

  // Debian's OpenSSL is built with kernel TLS. mediasoup's DTLS BIO callback
  // compares the operation type for equality with BIO_CB_RETURN, so for control
  // calls (BIO_CB_CTRL | BIO_CB_RETURN) it answers 1, libssl believes KTLS is on,
  // never allocates its write buffer and the worker crashes on the first DTLS
  // record. Testing the bit is what the callback means.
  const dtls = path.join(src, 'src', 'RTC', 'DtlsTransport.cpp');
  fs.writeFileSync(
    dtls,
    replaceOnce(
      fs.readFileSync(dtls, 'utf8'),
      '(operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1',
      '(operationType & BIO_CB_RETURN) ? static_cast<long>(ret) : 1',
      dtls,
    ),
  );
}

/** liburing from trixie's source package, static, and the worker's meson pointed at it. */
function buildLiburing(src) {
  const dir = path.join(src, 'chorus-liburing');
  fetchDebianSource('liburing', 'trixie', dir);
  run('./configure', [], { cwd: dir });
  run('make', ['-C', 'src', `-j${os.availableParallelism()}`, 'liburing.a'], { cwd: dir });
  const file = path.join(src, 'meson.build');
  fs.writeFileSync(
    file,
    replaceOnce(
      fs.readFileSync(file, 'utf8'),
      `    liburing_proj = subproject('liburing', default_options: ['default_library=static'], required: true)

    dependencies += [
      liburing_proj.get_variable('uring'),
    ]
    link_whole += [
      liburing_proj.get_variable('liburing')
    ]`,
      `    dependencies += [declare_dependency(
      include_directories: include_directories('chorus-liburing/src/include'),
      link_args: [meson.current_source_dir() / 'chorus-liburing/src/liburing.a'],
    )]`,
      file,
    ),
  );
}

function run(cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { stdio: 'inherit', ...opts });
}

function buildFromSource() {
  for (const tool of ['meson', 'ninja', 'pkg-config', 'flatc', 'c++']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      fail(`${tool} not found: run scripts/install-system-deps.sh first`);
    }
  }
  const started = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-worker-build-'));
  const src = path.join(tmp, 'worker');
  const build = path.join(tmp, 'build');
  try {
    fs.cpSync(path.join(msDir, 'worker'), src, {
      recursive: true,
      filter: (p) => !p.includes(`${path.sep}out${path.sep}`) && !p.endsWith(`${path.sep}out`),
    });
    patchSources(src);
    if (srtpVariant !== 'system') {
      const libsrtp = path.join(src, 'subprojects', 'libsrtp2');
      fetchDebianSource('libsrtp2', hostCodename(), libsrtp);
      if (srtpVariant === 'openssl') replaceFile(path.join(libsrtp, 'crypto', 'cipher', 'aes_gcm_ossl.c'), fastGcmSource);
    }
    if (uring === 'on') buildLiburing(src);
    run('meson', [
      'setup', '--buildtype', 'release', '-Db_ndebug=true', '--wrap-mode=nodownload',
      `-Dms_disable_liburing=${uring === 'off'}`, `-Db_lto=${lto === 'on'}`, build, src,
    ]);
    run('ninja', ['-C', build, 'fbs/FBS']);
    run('ninja', ['-C', build, `-j${Math.max(1, os.availableParallelism())}`, 'mediasoup-worker']);
    run('strip', [path.join(build, 'mediasoup-worker')]);
    cacheFile(path.join(build, 'mediasoup-worker'), cached.build);
    log(`built in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// --- proof that it runs -------------------------------------------------------

async function smokeTest() {
  const mediasoup = await import('mediasoup');
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  const router = await worker.createRouter({
    mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }],
  });
  router.close();
  worker.close();
  log(`mediasoup ${version} worker runs (${targetBin})`);
}

async function main() {
  const mode = process.argv[2] ?? 'ensure';
  const forced = process.env.CHORUS_WORKER_SOURCE;
  if (!['ensure', 'build'].includes(mode)) fail(`unknown mode ${mode}`);
  if (forced && !['prebuilt', 'build'].includes(forced)) fail(`CHORUS_WORKER_SOURCE must be prebuilt or build`);

  if (mode === 'build' || forced === 'build') {
    if (mode === 'build' || !fs.existsSync(cached.build)) buildFromSource();
    install(cached.build);
  } else if (forced === 'prebuilt') {
    if (!fs.existsSync(cached.prebuilt) && !(await downloadPrebuilt())) fail('no prebuilt worker available');
    install(cached.prebuilt);
  } else if (fs.existsSync(cached.prebuilt)) {
    install(cached.prebuilt);
  } else if (fs.existsSync(cached.build)) {
    install(cached.build);
  } else if (await downloadPrebuilt()) {
    install(cached.prebuilt);
  } else {
    log('building the worker from source against system libraries (first time only, a few minutes)');
    buildFromSource();
    install(cached.build);
  }
  await smokeTest();
}

await main();

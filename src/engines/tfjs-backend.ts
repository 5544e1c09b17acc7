import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tfCore from '@tensorflow/tfjs-core';
import { EngineError, OptionError } from '../errors.js';
import { checkOption } from '../config/validate.js';

// One tfjs-core for every backend.
//
// Backends register themselves into the tfjs-core module they `require`, and tensors made by one
// copy of tfjs-core are not Tensors to another copy. So every backend must resolve the very
// module this file imports. How that holds here:
// - This file imports '@tensorflow/tfjs-core' once, statically; Node resolves it (no "exports"
//   map, so via "main") to node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js, the CommonJS
//   build, and that is what we hand out as `tf`.
// - tfjs-backend-wasm and tfjs-backend-cpu list tfjs-core as a *peer* dependency and their
//   "main" (CommonJS) builds `require('@tensorflow/tfjs-core')`: the same file.
// - tfjs-node / tfjs-node-gpu 4.22.0 depend on exactly '@tensorflow/tfjs' 4.22.0, which depends
//   on exactly tfjs-core 4.22.0; npm dedupes it to the top-level copy (package-lock.json has no
//   node_modules/@tensorflow/tfjs-node/node_modules/@tensorflow/tfjs-core). A version drift
//   would make npm nest a second copy, so before loading a node package we resolve tfjs-core the
//   way it would (from its @tensorflow/tfjs) and refuse it if the file differs (`sameCore`).
//   After loading we also check that the 'tensorflow' backend landed in *our* registry.
// Backends are loaded with dynamic import() so that a missing optional package is a skip with a
// reason, not a crash at import time.

/** The tfjs-core module every backend registers into. */
export type Tfjs = typeof tfCore;

/** What a caller may ask for: tensorflow = tfjs-node-gpu or tfjs-node (libtensorflow). */
export type TfjsBackendRequest = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** Accepted values of the backend option, in the order the CLI lists them. */
export const TFJS_BACKEND_REQUESTS: readonly TfjsBackendRequest[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** The outcome of backend selection: the active tfjs-core, backend name and why. */
export interface TfjsBackendSelection {
  readonly tf: Tfjs;
  /** tfjs backend name now active: 'tensorflow', 'wasm' or 'cpu'. */
  readonly backend: string;
  /** One line: what was chosen and why each better candidate was skipped. */
  readonly reason: string;
  /** True when tensors run on a GPU (tfjs-node-gpu with a CUDA device). */
  readonly gpu: boolean;
}

/** One candidate backend as `ssdpipe doctor` reports it. */
export interface TfjsBackendStatus {
  /** Candidate name: 'tfjs-node-gpu', 'tfjs-node', 'wasm' or 'cpu'. */
  readonly name: TfjsCandidate;
  /** npm package that provides it. */
  readonly package: string;
  /** tfjs backend name it registers. */
  readonly backend: string;
  readonly available: boolean;
  readonly gpu: boolean;
  /** Available: what it runs on (e.g. 'SIMD, 1 thread'); not available: why not. */
  readonly reason: string;
  /** What to do to make an unavailable backend available. */
  readonly hint?: string;
}

/** Options for backend selection. */
export interface SelectTfjsBackendOptions {
  /** wasm: XNNPACK threads, applied only before the wasm backend's first initialization. */
  threads?: number;
}

/** The candidates, best first. */
export type TfjsCandidate = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';

const PACKAGES: Record<TfjsCandidate, string> = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  'tfjs-node': '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

const BACKEND_NAMES: Record<TfjsCandidate, string> = {
  'tfjs-node-gpu': 'tensorflow',
  'tfjs-node': 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

const INSTALL_NODE_HINT =
  'install the native backend with `npm install @tensorflow/tfjs-node` (or @tensorflow/tfjs-node-gpu for ' +
  'CUDA on Linux; both download libtensorflow at install time), or use --backend wasm';

/** A probe's verdict on one candidate; probes are memoized because loading is once per process. */
type Probe =
  | { readonly ok: true; readonly backend: string; readonly gpu: boolean; readonly detail: string }
  | { readonly ok: false; readonly why: string; readonly hint?: string };

const probes = new Map<TfjsCandidate, Promise<Probe>>();
const localRequire = createRequire(import.meta.url);

/** Which node package this module loaded ('tensorflow' can be registered only once per process). */
let loadedNodePackage: TfjsCandidate | undefined;

/** Tail of the queue that serializes everything touching the process-wide active backend. */
let exclusiveTail: Promise<unknown> = Promise.resolve();

/** Runs `fn` after every earlier selection/probe has settled (probes switch backends and back). */
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = exclusiveTail.then(fn, fn);
  exclusiveTail = run.catch(() => undefined);
  return run;
}

/**
 * Makes a tfjs backend active and returns the shared tfjs-core with it.
 * auto: tfjs-node-gpu (only with a usable GPU), tfjs-node, tfjs-node-gpu on the CPU (if it was
 * loaded but found no GPU), wasm (SIMD), cpu. An explicit request that cannot be met throws an
 * EngineError whose hint says how to get it. The choice is process-wide (tfjs has one active
 * backend).
 */
export function selectTfjsBackend(
  requested: TfjsBackendRequest = 'auto',
  options: SelectTfjsBackendOptions = {},
): Promise<TfjsBackendSelection> {
  return exclusive(() => select(requested, options));
}

async function select(requested: TfjsBackendRequest, options: SelectTfjsBackendOptions): Promise<TfjsBackendSelection> {
  checkOption('backend', requested);
  if (options.threads !== undefined) checkOption('threads', options.threads);
  quietTfjs();

  const skipped: string[] = [];
  const attempt = async (c: TfjsCandidate, accept: (p: Probe & { ok: true }) => boolean = () => true): Promise<TfjsBackendSelection | undefined> => {
    const p = await probe(c, options);
    if (!p.ok) {
      skipped.push(`${c}: ${p.why}`);
      return undefined;
    }
    if (!accept(p)) return undefined;
    if (!(await activate(p.backend))) {
      skipped.push(`${c}: ${p.backend} backend failed to activate`);
      return undefined;
    }
    const why = skipped.length > 0 ? `; skipped ${skipped.join('; ')}` : '';
    return { tf: tfCore, backend: p.backend, gpu: p.gpu, reason: `tfjs ${p.backend} backend via ${c} (${p.detail})${why}` };
  };

  let chosen: TfjsBackendSelection | undefined;
  switch (requested) {
    case 'auto': {
      // The GPU package counts first only with a GPU; loaded without one it still beats wasm
      // (libtensorflow on the CPU), but tfjs-node is preferred, and both cannot be loaded.
      let gpuOnCpu = false;
      chosen = await attempt('tfjs-node-gpu', (p) => {
        if (p.gpu) return true;
        gpuOnCpu = true;
        skipped.push(`tfjs-node-gpu: loaded but TensorFlow found no usable GPU`);
        return false;
      });
      chosen ??= await attempt('tfjs-node');
      if (!chosen && gpuOnCpu) chosen = await attempt('tfjs-node-gpu');
      chosen ??= await attempt('wasm');
      chosen ??= await attempt('cpu');
      break;
    }
    case 'tensorflow':
      chosen = (await attempt('tfjs-node-gpu')) ?? (await attempt('tfjs-node'));
      if (!chosen) {
        throw new EngineError(`tfjs backend "tensorflow" is not available (${skipped.join('; ')})`, { hint: INSTALL_NODE_HINT });
      }
      break;
    case 'wasm':
    case 'cpu': {
      chosen = await attempt(requested);
      if (!chosen) {
        throw new EngineError(`tfjs backend "${requested}" is not available (${skipped.join('; ')})`, {
          hint: `${PACKAGES[requested]} is a dependency of ssdpipe: reinstall with \`npm ci\`, or try --backend auto`,
        });
      }
      break;
    }
  }
  if (!chosen) {
    throw new EngineError(`no tfjs backend could be loaded (${skipped.join('; ')})`, {
      hint: 'reinstall with `npm ci`; `ssdpipe doctor` lists what each backend needs',
    });
  }
  return chosen;
}

/**
 * Probes every candidate backend without changing the active one, for `ssdpipe doctor`.
 * Loading a native package is permanent for the process, so this does load what is installed.
 */
export function describeTfjsBackends(): Promise<TfjsBackendStatus[]> {
  return exclusive(describe);
}

async function describe(): Promise<TfjsBackendStatus[]> {
  quietTfjs();
  const out: TfjsBackendStatus[] = [];
  for (const c of ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const) {
    const p = await probe(c, {});
    out.push(
      p.ok
        ? { name: c, package: PACKAGES[c], backend: p.backend, available: true, gpu: p.gpu, reason: p.detail }
        : { name: c, package: PACKAGES[c], backend: BACKEND_NAMES[c], available: false, gpu: false, reason: p.why, hint: p.hint },
    );
  }
  return out;
}

/** Whether tfjs-node-gpu is installed, loads and runs on a GPU (for engine auto-selection). */
export async function gpuTfjsAvailable(): Promise<{ ok: boolean; reason: string }> {
  quietTfjs();
  const p = await exclusive(() => probe('tfjs-node-gpu', {}));
  if (!p.ok) return { ok: false, reason: `tfjs-node-gpu: ${p.why}` };
  return p.gpu
    ? { ok: true, reason: `tfjs-node-gpu: ${p.detail}` }
    : { ok: false, reason: 'tfjs-node-gpu: loaded but TensorFlow found no usable GPU' };
}

/** Memoized probe: load and initialize one candidate once, then restore the active backend. */
function probe(c: TfjsCandidate, options: SelectTfjsBackendOptions): Promise<Probe> {
  let p = probes.get(c);
  if (!p) {
    p = withActiveBackendRestored(() => (c === 'wasm' ? probeWasm(options) : c === 'cpu' ? probeCpu() : probeNode(c)));
    probes.set(c, p);
  }
  return p;
}

async function probeNode(c: 'tfjs-node-gpu' | 'tfjs-node'): Promise<Probe> {
  const pkg = PACKAGES[c];
  let pkgJson: string;
  try {
    pkgJson = localRequire.resolve(`${pkg}/package.json`);
  } catch {
    return { ok: false, why: 'not installed', hint: INSTALL_NODE_HINT };
  }
  const other: TfjsCandidate = c === 'tfjs-node' ? 'tfjs-node-gpu' : 'tfjs-node';
  if (loadedNodePackage === other) {
    return { ok: false, why: `not loaded: ${other} already provides the tensorflow backend in this process` };
  }
  if (c === 'tfjs-node-gpu' && !nvidiaDevicePresent()) {
    // Loading the GPU build without a GPU costs seconds and CUDA warnings for nothing.
    return { ok: false, why: 'installed, but no NVIDIA GPU is visible (no /dev/nvidia0 or /dev/dxg)', hint: 'check the NVIDIA driver (nvidia-smi)' };
  }
  const core = sameCore(pkgJson);
  if (!core.same) {
    return {
      ok: false,
      why: `installed, but it resolves its own tfjs-core (${core.theirs}) instead of ${core.ours}`,
      hint: 'align @tensorflow/* versions and run `npm dedupe` so there is one @tensorflow/tfjs-core',
    };
  }
  if (loadedNodePackage !== c) {
    // libtensorflow logs to stderr at load; library code must not print. Respect a user setting.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    try {
      await import(pkg);
    } catch (cause) {
      return { ok: false, why: `installed, but failed to load: ${firstLine(cause)}`, hint: `reinstall ${pkg} (its install step downloads libtensorflow)` };
    }
    loadedNodePackage = c;
  }
  if (tfCore.findBackendFactory('tensorflow') == null) {
    return { ok: false, why: 'loaded, but its tensorflow backend did not register in the shared tfjs-core', hint: 'run `npm dedupe`' };
  }
  if (!(await activate('tensorflow'))) return { ok: false, why: 'loaded, but the tensorflow backend failed to initialize' };
  // NodeJSKernelBackend exposes whether libtensorflow placed ops on a GPU.
  const be = tfCore.findBackend('tensorflow') as unknown as { isUsingGpuDevice?: boolean } | null;
  const gpu = c === 'tfjs-node-gpu' && be?.isUsingGpuDevice === true;
  return { ok: true, backend: 'tensorflow', gpu, detail: gpu ? 'libtensorflow on a CUDA GPU' : 'libtensorflow on the CPU' };
}

async function probeWasm(options: SelectTfjsBackendOptions): Promise<Probe> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (cause) {
    return { ok: false, why: `failed to load: ${firstLine(cause)}`, hint: 'run `npm ci`' };
  }
  // File paths, not URLs: the .wasm binaries ship in the package's dist/ folder (no CDN).
  const dist = path.join(path.dirname(localRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  const simd = (await tfCore.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const binary = simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  if (!existsSync(dist + binary)) return { ok: false, why: `${binary} is missing from ${dist}`, hint: 'run `npm ci`' };
  if (tfCore.findBackend('wasm') == null) {
    // Both settings are read when the backend first initializes, so only before that.
    wasm.setWasmPaths(dist);
    // tfjs disables wasm threads in Node (WASM_HAS_MULTITHREAD_SUPPORT is false), so XNNPACK runs
    // single-threaded whatever we ask; set it anyway for runtimes that allow threads.
    wasm.setThreadsCount(options.threads ?? os.availableParallelism());
  }
  if (!(await activate('wasm'))) return { ok: false, why: `the wasm backend failed to initialize from ${dist}`, hint: 'run `npm ci`' };
  const threads = wasm.getThreadsCount();
  return { ok: true, backend: 'wasm', gpu: false, detail: `${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}` };
}

async function probeCpu(): Promise<Probe> {
  try {
    await import('@tensorflow/tfjs-backend-cpu');
  } catch (cause) {
    return { ok: false, why: `failed to load: ${firstLine(cause)}`, hint: 'run `npm ci`' };
  }
  if (!(await activate('cpu'))) return { ok: false, why: 'the cpu backend failed to initialize' };
  return { ok: true, backend: 'cpu', gpu: false, detail: 'plain JavaScript kernels, slowest' };
}

/** Sets the active backend; false when it is not registered or fails to initialize. */
async function activate(backend: string): Promise<boolean> {
  if (tfCore.findBackendFactory(backend) == null) return false;
  if (tfCore.engine().backendName === backend) return true;
  return tfCore.setBackend(backend);
}

/** Runs a probe (which activates its backend to initialize it), then re-activates the previous one. */
async function withActiveBackendRestored(run: () => Promise<Probe>): Promise<Probe> {
  // backendName is null until a backend is set (tf.getBackend() would pick and initialize one).
  const previous: string | null = tfCore.engine().backendName ?? null;
  try {
    return await run();
  } finally {
    if (previous !== null && tfCore.engine().backendName !== previous) await tfCore.setBackend(previous);
  }
}

/** Does the tfjs-core that `pkg` (via its @tensorflow/tfjs) would load equal ours? */
function sameCore(pkgJson: string): { same: boolean; ours: string; theirs: string } {
  const ours = localRequire.resolve('@tensorflow/tfjs-core');
  try {
    const fromPkg = createRequire(pkgJson);
    const tfjsJson = fromPkg.resolve('@tensorflow/tfjs/package.json');
    const theirs = createRequire(tfjsJson).resolve('@tensorflow/tfjs-core');
    return { same: theirs === ours, ours, theirs };
  } catch (cause) {
    return { same: false, ours, theirs: `unresolvable: ${firstLine(cause)}` };
  }
}

/** Linux device nodes of the NVIDIA driver (native or WSL2); elsewhere assume maybe. */
function nvidiaDevicePresent(): boolean {
  if (process.platform !== 'linux') return true;
  return existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl') || existsSync('/dev/dxg');
}

/**
 * Production mode: tfjs's own console warnings (e.g. the cpu backend's "install tfjs-node"
 * banner) and debug checks are off; library code must not print.
 */
function quietTfjs(): void {
  if (!tfCore.env().getBool('PROD')) tfCore.enableProdMode();
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}

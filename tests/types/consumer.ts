// A TypeScript app of the `legonet` package that uses every export, verb, option, report field
// and error code of pkg/index.d.ts, so `npm run typecheck` (tsc --strict) fails when a name
// there changes, and `Covers` / `only` fail when index.d.ts gains something this file does not
// use. Never run: tests/types.test.mjs compiles it and checks index.d.ts against src/.
import LegoNetDefault, {
  LegoNet, DEFAULTS,
  LegoNetError, InvalidImageError, SampleIdError, SnapshotError, ReceiptError, AbortError, StorageError, DisposedError,
} from 'legonet';
import type * as Legonet from 'legonet';
import type {
  ImageLike, LegoNetOptions, BackendInfo, Example, Progress, TrainReport, ForgetReport, VerifyReport, Structure,
  ClassScore, CompareRow, MemoryReport, ErrorCode, ForgetReceipt, ReceiptConfig, AdapterChange, ReceiptCheck,
  PhotoAudit, AuditMatch,
} from 'legonet';
import { weightsUrl, sha256, bytes as weightBytes } from '@legonet/efficientnet-lite0';
import type * as Weights from '@legonet/efficientnet-lite0';

/** Compiles only when `Used` names every key of `T`. */
type Covers<T, Used extends keyof T> = [Exclude<keyof T, Used>] extends [never] ? true : never;
/** Takes what is left of an object after destructuring every field this file knows: nothing. */
function only(rest: Record<string, never>): void { void rest; }

// Every value export (types are imported by name above).
const exportsCovered: Covers<typeof Legonet, 'default' | 'LegoNet' | 'DEFAULTS' | 'LegoNetError' | 'InvalidImageError'
  | 'SampleIdError' | 'SnapshotError' | 'ReceiptError' | 'AbortError' | 'StorageError' | 'DisposedError'> = true;
const defaultIsTheClass: typeof LegoNet = LegoNetDefault;
// The weights package (packages/efficientnet-lite0): every export, and the URL it gives is an encoderUrl.
const weightsCovered: Covers<typeof Weights, 'weightsUrl' | 'sha256' | 'bytes'> = true;
const fromPackage: LegoNetOptions = { encoderUrl: weightsUrl };
const weightFacts: [string, number] = [sha256, weightBytes];

// Every member of the class and every static.
const verbsCovered: Covers<LegoNet, 'addExample' | 'addExamples' | 'train' | 'predict' | 'forget' | 'addClass'
  | 'removeClass' | 'verify' | 'audit' | 'checkReceipts' | 'compare' | 'export' | 'save' | 'memory' | 'savedModels' | 'deleteSaved'
  | 'clearStorage' | 'labels' | 'examples' | 'pendingAdapters' | 'structure' | 'backend' | 'encoderId' | 'encoderWorkers' | 'dispose'
  | typeof Symbol.dispose> = true;
const staticsCovered: Covers<typeof LegoNet, 'prototype' | 'create' | 'import' | 'load'> = true;

// Every option, and the defaults of those that have one.
const options: Required<LegoNetOptions> = {
  encoderUrl: new URL('/weights/efficientnet-lite0.safetensors', 'https://example.test/'),
  backend: 'auto',
  adapters: 32,
  activated: 3,
  memberCap: 300,
  seed: 0,
  worker: true,
  wasmUrl: '/assets/legonet_bg.wasm',
  webgpuWasmUrl: new URL('/assets/legonet_webgpu_bg.wasm', 'https://example.org'),
  encoderWorkers: 2,
};
const backends: NonNullable<LegoNetOptions['backend']>[] = ['auto', 'webgpu', 'cpu'];
const minimal: LegoNetOptions = { encoderUrl: '/weights/efficientnet-lite0.safetensors' };
// encoderUrl is optional: left out, the weights of @legonet/efficientnet-lite0 are used.
const noEncoder: LegoNetOptions = { backend: 'cpu' };
// @ts-expect-error encoderUrl is a URL or a string
const numericEncoder: LegoNetOptions = { encoderUrl: 42 };
// @ts-expect-error no such backend
const badBackend: LegoNetOptions = { encoderUrl: '/w', backend: 'tpu' };
{
  const { backend, seed, worker, ...rest } = DEFAULTS;
  only(rest);
  const b: 'auto' | 'webgpu' | 'cpu' = backend;
  const numbers: number[] = [seed];
  // @ts-expect-error no default n: the structure follows the data unless fixed
  const n: number = DEFAULTS.adapters;
  // @ts-expect-error no fixed lane count: it follows the visitor's cores
  const lanes: number = DEFAULTS.encoderWorkers;
  const inWorker: boolean = worker;
}

// Every kind of image.
declare const bitmap: ImageBitmap, img: HTMLImageElement, canvas: HTMLCanvasElement, offscreen: OffscreenCanvas;
declare const pixels: ImageData, video: HTMLVideoElement, frame: VideoFrame, blob: Blob, file: File;
const images: ImageLike[] = [bitmap, img, canvas, offscreen, pixels, video, frame, blob, file];
// @ts-expect-error a URL is no image: fetch it first
const url: ImageLike = 'https://example.test/cat.png';

// Every report field, each into a variable of its declared type.
function useProgress(p: Progress): void {
  const { phase, done, total, ...rest } = p;
  only(rest);
  const step: 'encode' | 'train' = phase;
  const fraction: number = done / total;
}

function useTrain(r: TrainReport): void {
  const { adaptersTrained, samplesReplayed, paramsTrained, restructured, ms, msResolution, ...rest } = r;
  only(rest);
  const counts: number[] = [adaptersTrained, samplesReplayed, paramsTrained, ms, msResolution];
  const rebuilt: boolean = restructured;
}

function useForget(r: ForgetReport): void {
  const { forgotten, retrainedAdapters, samplesReplayed, paramsRetrained, restructured, ms, msResolution, receipt, ...rest } = r;
  only(rest);
  useReceipt(receipt);
  const touched: number[] = retrainedAdapters;
  const rebuilt: boolean = restructured;
  const counts: number[] = [forgotten, samplesReplayed, paramsRetrained, ms, msResolution];
  // @ts-expect-error one name per concept: samplesReplayed, as in TrainReport and CompareRow
  const old: number = r.replayedSamples;
}

function useReceiptConfig(c: ReceiptConfig): void {
  const { adapters, activated, fixed, capacity, seed, head, ridgeLambda, epochs, learningRate, batchSize, memberCap, ...rest } = c;
  only(rest);
  const numbers: number[] = [adapters, activated, ridgeLambda, epochs, learningRate, batchSize, memberCap];
  const levels: [number, number, number][] = capacity;
  const decimal: string = seed;
  const kind: 'ridge' | 'softmax' = head;
  const isFixed: boolean = fixed;
}

function useAdapterChange(a: AdapterChange): void {
  const { adapter, membersBefore, membersAfter, weightsAfter, ...rest } = a;
  only(rest);
  const index: number = adapter;
  const hashes: (string | null)[] = [membersBefore, membersAfter, weightsAfter];
}

function useReceipt(r: ForgetReceipt): void {
  const {
    version, sequence, previousReceipt, encoderId, keyHash, config, modelBefore, modelAfter, salt, forgotten, adapters, ...rest
  } = r;
  only(rest);
  const v: 1 = version;
  const n: number = sequence;
  const previous: string | null = previousReceipt;
  const hashes: string[] = [encoderId, keyHash, modelBefore, modelAfter, salt, ...forgotten];
  useReceiptConfig(config);
  adapters.forEach(useAdapterChange);
}

function useReceiptCheck(c: ReceiptCheck): void {
  const { receipts, commitments, adaptersReplayed, failures, ...rest } = c;
  only(rest);
  const counts: number[] = [receipts, commitments, adaptersReplayed];
  const agree: boolean = failures.length === 0;
}

function useAuditMatch(m: AuditMatch): void {
  const { id, label, distance, adapters, ...rest } = m;
  only(rest);
  const texts: string[] = [id, label];
  const relative: number = distance;
  const trainedOn: number[] = adapters;
}

function useAudit(a: PhotoAudit): void {
  const { held, matches, nearest, tolerance, examples, verify, modelHash, receiptCount, lastReceipt, ...rest } = a;
  only(rest);
  const inModel: boolean = held;
  matches.forEach(useAuditMatch);
  if (nearest) useAuditMatch(nearest);
  const numbers: number[] = [tolerance, examples, receiptCount];
  useVerify(verify);
  const hashes: (string | null)[] = [modelHash, lastReceipt];
}

function useVerify(r: VerifyReport): void {
  const { ok, adaptersChecked, mismatches, ms, msResolution, ...rest } = r;
  only(rest);
  const bitwise: boolean = ok;
  const differing: number[] = mismatches;
  const counts: number[] = [adaptersChecked, ms, msResolution];
}

function useCompareRow(row: CompareRow): void {
  const {
    method, nTrain, nTest, accuracy, trainMs, forgetMs, adaptersRetrained, samplesReplayed, paramsRetrained, msResolution, ...rest
  } = row;
  only(rest);
  const names: Record<CompareRow['method'], string> = { legonet: 'LegoNet', retrain: 'Retrain', fixsisa: 'FixSISA', knn: 'KNN' };
  const name: string = names[method];
  const heldOut: number | null = accuracy;
  const counts: number[] = [nTrain, nTest, trainMs, forgetMs, adaptersRetrained, samplesReplayed, paramsRetrained, msResolution];
}

function useMemory(m: MemoryReport): void {
  const { wasmBytes, samples, encodingBytes, adapterParams, keyBytes, snapshotBytes, encoderWorkerBytes, storage, ...rest } = m;
  only(rest);
  const counts: number[] = [wasmBytes, samples, encodingBytes, adapterParams, keyBytes, snapshotBytes, ...encoderWorkerBytes];
  if (storage) {
    const { usage, quota, ...more } = storage;
    only(more);
    const estimate: (number | undefined)[] = [usage, quota];
  }
}

function useBackend(info: BackendInfo): void {
  const { kind, name, adapter, reason, device, ...rest } = info;
  only(rest);
  const where: 'webgpu' | 'cpu' = kind;
  const texts: string[] = [name, reason];
  const wgpuDevice: string | undefined = device;
  if (adapter) {
    const { vendor, architecture, description, isFallbackAdapter, ...more } = adapter;
    only(more);
    const about: string[] = [vendor, architecture, description];
    const software: boolean = isFallbackAdapter;
  }
}

function useExample(e: Example): void {
  const { id, label, adapters, ...rest } = e;
  only(rest);
  const texts: string[] = [id, label];
  const activated: number[] = adapters;
}

function useClassScore(c: ClassScore): void {
  const { label, score, ...rest } = c;
  only(rest);
  const text: string = label;
  const p: number = score;
}

// Every error code (a Record needs each one, and no other) and every error class.
const meaning: Record<ErrorCode, string> = {
  INVALID_WEIGHTS: 'the encoder weights are not usable',
  INVALID_IMAGE: 'that image cannot be used',
  INVALID_INPUT: 'a wrong argument',
  INVALID_CONFIG: 'an option out of range',
  INVALID_ENCODING: 'a bad encoding',
  UNKNOWN_ID: 'no such example',
  DUPLICATE_ID: 'that id is taken',
  UNKNOWN_CLASS: 'no such class',
  DUPLICATE_CLASS: 'that class exists',
  EMPTY_MODEL: 'nothing trained yet',
  NOT_TRAINED: 'train first',
  CORRUPT_SNAPSHOT: 'the saved model is damaged',
  SNAPSHOT_VERSION: 'the saved model is of another version',
  ENCODER_MISMATCH: 'the saved model used other encoder weights',
  INVALID_RECEIPT: 'that is not a deletion receipt',
  BACKEND: 'the backend failed',
  ABORTED: 'cancelled',
  STORAGE: 'storage failed',
  QUOTA_EXCEEDED: 'storage is full',
  NOT_FOUND: 'not found',
  STALE_MODEL: 'another tab saved it since',
  NOT_INITIALISED: 'the engine is not ready',
  DISPOSED: 'this model was closed',
  INTERNAL: 'a bug',
};

/** Compiles only while `code` is a closed union (not `string`, not `any`). */
const codesAreClosed: string extends LegoNetError['code'] ? never : true = true;

function describe(e: unknown): string {
  if (e instanceof InvalidImageError) { const code: 'INVALID_IMAGE' = e.code; return meaning[code]; }
  if (e instanceof SampleIdError) { const code: 'UNKNOWN_ID' | 'DUPLICATE_ID' = e.code; return meaning[code]; }
  if (e instanceof SnapshotError) {
    const code: 'CORRUPT_SNAPSHOT' | 'SNAPSHOT_VERSION' | 'ENCODER_MISMATCH' = e.code;
    return meaning[code];
  }
  if (e instanceof ReceiptError) { const code: 'INVALID_RECEIPT' = e.code; return meaning[code]; }
  if (e instanceof AbortError) { const code: 'ABORTED' = e.code; return meaning[code]; }
  if (e instanceof StorageError) { const code: 'STORAGE' | 'QUOTA_EXCEEDED' | 'NOT_FOUND' | 'STALE_MODEL' = e.code; return meaning[code]; }
  if (e instanceof DisposedError) { const code: 'DISPOSED' = e.code; return meaning[code]; }
  if (e instanceof LegoNetError) { const code: ErrorCode = e.code; return `${meaning[code]}: ${e.message}`; }
  return String(e);
}

const made: LegoNetError[] = [
  new LegoNetError('INTERNAL', 'wrapped', { cause: new Error('inner') }),
  new InvalidImageError('the file is empty'),
  new SampleIdError('UNKNOWN_ID', 'no such id'),
  new SnapshotError('SNAPSHOT_VERSION', 'version 9'),
  new ReceiptError('not hex'),
  new AbortError(),
  new AbortError('stopped', { cause: 'user' }),
  new StorageError('QUOTA_EXCEEDED', 'full'),
  new DisposedError(),
];
// @ts-expect-error codes are a closed set
const unknownCode = new LegoNetError('NOPE', 'x');
// @ts-expect-error each subclass takes only its own codes
const wrongClass = new SampleIdError('CORRUPT_SNAPSHOT', 'x');

// Every verb, with every option.
export async function app(photo: ImageLike, dogs: ImageLike[], saved: File): Promise<string[]> {
  // @ts-expect-error the constructor is private: create, import or load
  const direct = new LegoNet();
  const net: LegoNet = await LegoNet.create(options);
  const controller = new AbortController();
  try {
    const id: string = await net.addExample(photo, 'cat', { id: 'cat-1' });
    const ids: string[] = await net.addExamples(
      dogs.map((image, i) => ({ image, label: 'dog', id: `dog-${i}` })),
      { onProgress: useProgress, signal: controller.signal },
    );
    await net.addExamples([{ image: photo, label: 'cat' }]);
    useTrain(await net.train({ onProgress: useProgress, signal: controller.signal }));
    useTrain(await net.train());
    (await net.predict(photo)).forEach(useClassScore);
    const erased = await net.forget(id);
    useForget(erased);
    useForget(await net.forget(ids));
    useAudit(await net.audit(photo));
    useReceiptCheck(await net.checkReceipts(erased.receipt));
    useReceiptCheck(await net.checkReceipts([erased.receipt]));
    await net.addClass('bird');
    useForget(await net.removeClass('bird'));
    useVerify(await net.verify());
    (await net.compare({ forget: ids[0] })).forEach(useCompareRow);
    (await net.compare({ forget: ids }));
    (await net.compare()).forEach(useCompareRow);
    const bytes: Uint8Array = await net.export();
    LegoNet.import(bytes, minimal).then((copy) => copy.dispose());
    LegoNet.import(await saved.arrayBuffer(), options).then((copy) => copy.dispose());
    await net.save('mine');
    (await LegoNet.load('mine', minimal)).dispose();
    (await LegoNet.load('mine')).dispose(); // no options: the packaged weights
    (await LegoNet.create()).dispose();
    useMemory(await net.memory());
    for (const record of await net.savedModels()) {
      const { name, bytes: size, savedAt, ...rest } = record;
      only(rest);
      const text: string = name;
      const numbers: number[] = [size, savedAt];
    }
    await net.deleteSaved('mine');
    await net.clearStorage();
    const labels: string[] = net.labels();
    net.examples().forEach(useExample);
    const pending: number = net.pendingAdapters;
    const structure: Structure = net.structure;
    const { adapters: n, activated: k, ...restStructure } = structure;
    only(restStructure);
    const nk: number[] = [n, k];
    // @ts-expect-error the getters are read-only
    net.pendingAdapters = 0;
    useBackend(net.backend);
    const encoderId: string = net.encoderId;
    const lanes: number = net.encoderWorkers;
    // @ts-expect-error the lane count is fixed at create
    net.encoderWorkers = lanes + 1;
    {
      using scoped = await LegoNetDefault.create(minimal); // [Symbol.dispose] at the block's end
      scoped.labels();
    }
    return labels.concat(encoderId);
  } catch (e) {
    return [describe(e)];
  } finally {
    net.dispose();
  }
}

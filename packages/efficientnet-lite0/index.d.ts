/** Absolute URL of `efficientnet-lite0-f16.safetensors` (next to this module, or the bundler's asset). */
export declare const weightsUrl: string;
/** SHA-256 of the weights file, hex: legonet's encoder id (`LegoNet#encoderId`). */
export declare const sha256: string;
/** Size of the weights file in bytes. */
export declare const bytes: number;

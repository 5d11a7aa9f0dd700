/** The part of snappyjs 0.7 (which ships no types) remote-write.ts uses: Snappy's block format. */
declare module 'snappyjs' {
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
}

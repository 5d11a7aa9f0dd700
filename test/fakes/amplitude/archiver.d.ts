/** The part of archiver 7 (installed with the cdktf CLI, which ships no types for it) the Amplitude fake uses. */
declare module 'archiver' {
  import type { Readable } from 'stream';
  interface Archive extends Readable {
    append(source: Buffer | string, data: { name: string; date?: Date }): this;
    finalize(): Promise<void>;
  }
  function archiver(format: 'zip', options?: { zlib?: { level?: number } }): Archive;
  export = archiver;
}

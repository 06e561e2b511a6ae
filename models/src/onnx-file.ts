/** Reads the interface or the structure of an ONNX file on disk (onnx-graph.ts), a few small reads at a time. */
import { openRegularFile } from '../../node/files.ts';
import { readOnnxGraph, readOnnxInterfaceFrom, type ByteSource, type OnnxGraph, type OnnxInterface } from './onnx-graph.ts';

/**
 * Runs `read` on the file at `path` opened as a regular file: throws UnreadableFileError
 * (node/files.ts) when it is not one (a FIFO would block the open, a link to /dev/zero read zeros
 * forever).
 */
async function withFile<T>(path: string, read: (source: ByteSource) => Promise<T>): Promise<T> {
  const { handle: fh, stats } = await openRegularFile(path);
  try {
    return await read({ size: stats.size, read: async (into, pos) => (await fh.read(into, 0, into.length, pos)).bytesRead });
  } finally {
    await fh.close();
  }
}

/** The interface of the ONNX model at `path`; throws OnnxFormatError when it is not a readable ONNX model. */
export function readOnnxInterface(path: string): Promise<OnnxInterface> {
  return withFile(path, readOnnxInterfaceFrom);
}

/** The node structure of the ONNX model at `path` (its weights skipped). */
export function readOnnxGraphFile(path: string): Promise<OnnxGraph> {
  return withFile(path, readOnnxGraph);
}

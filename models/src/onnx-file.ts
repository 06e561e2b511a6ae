/** Reads the interface of an ONNX file on disk (onnx-graph.ts), a few small reads at a time. */
import { openRegularFile } from '../../node/files.ts';
import { readOnnxInterfaceFrom, type OnnxInterface } from './onnx-graph.ts';

/**
 * The interface of the ONNX model at `path`; throws OnnxFormatError when it is not a readable ONNX
 * model, UnreadableFileError (node/files.ts) when it is not a regular file (a FIFO would block the
 * open, a link to /dev/zero read zeros forever).
 */
export async function readOnnxInterface(path: string): Promise<OnnxInterface> {
  const { handle: fh, stats } = await openRegularFile(path);
  try {
    return await readOnnxInterfaceFrom({ size: stats.size, read: async (into, pos) => (await fh.read(into, 0, into.length, pos)).bytesRead });
  } finally {
    await fh.close();
  }
}

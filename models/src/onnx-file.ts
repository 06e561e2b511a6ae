/** Reads the interface of an ONNX file on disk (onnx-graph.ts), a few small reads at a time. */
import { open } from 'node:fs/promises';
import { readOnnxInterfaceFrom, type OnnxInterface } from './onnx-graph.ts';

/** The interface of the ONNX model at `path`; throws OnnxFormatError when it is not a readable ONNX model. */
export async function readOnnxInterface(path: string): Promise<OnnxInterface> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    return await readOnnxInterfaceFrom({ size, read: async (into, pos) => (await fh.read(into, 0, into.length, pos)).bytesRead });
  } finally {
    await fh.close();
  }
}

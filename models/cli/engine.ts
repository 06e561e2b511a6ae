import type { Engine } from '../src/engine.ts';
import { loadEngine as loadEngineFrom } from '../src/load-from-folder.ts';
import type { DeviceChoice } from '../src/ort.ts';
import { CliError, type ParsedArgs } from './args.ts';

/** Loads the engine for a CLI command: --model DIR (default: the embedded model), --device. */
export async function loadEngine(args: ParsedArgs): Promise<Engine> {
  const device = (args.values.device ?? 'auto') as DeviceChoice;
  if (!['auto', 'gpu', 'cpu'].includes(device)) throw new CliError(`--device must be auto, gpu or cpu, got "${device}"`);
  try {
    return await loadEngineFrom({ modelDir: args.values.model, device });
  } catch (e) {
    throw new CliError((e as Error).message, 1);
  }
}

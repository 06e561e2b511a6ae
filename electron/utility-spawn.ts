/**
 * Starts the engine process as an Electron utilityProcess (a Node.js child managed by Chromium's
 * process model): onnxruntime blocks its event loop while it runs, and a native crash there ends
 * only that process. EngineHost (models/src/engine-host.ts) restarts it when it exits.
 */
import { utilityProcess } from 'electron';
import type { EngineProcessLike, SpawnFn } from '../models/src/engine-host.ts';

export function utilityProcessSpawn(env?: NodeJS.ProcessEnv): SpawnFn {
  return (entry, args) => {
    const child = utilityProcess.fork(entry, args, {
      serviceName: 'Likely engine',
      stdio: 'inherit',
      env: { ...process.env, ...env },
    });
    return {
      postMessage: (msg) => child.postMessage(msg),
      on: (event: 'message' | 'exit', fn: (arg: never) => void) => {
        if (event === 'message') child.on('message', fn as (m: unknown) => void);
        else child.on('exit', fn as (code: number) => void);
      },
      kill: () => {
        child.kill();
      },
    } as EngineProcessLike;
  };
}

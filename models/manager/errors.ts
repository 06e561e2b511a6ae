import type { ModelErrorCode, ModelErrorInfo } from '../../common/models-api.ts';

/** Every failure of the model manager: a code the app can act on and a one-line message for the user. */
export class ModelManagerError extends Error {
  constructor(
    readonly code: ModelErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ModelManagerError';
  }

  toJSON(): ModelErrorInfo {
    return { code: this.code, message: this.message };
  }
}

/** Maps low-level errors (fs, sockets) to a ModelManagerError; `what` names the file or URL concerned. */
export function asManagerError(e: unknown, what: string): ModelManagerError {
  if (e instanceof ModelManagerError) return e;
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOSPC':
      return new ModelManagerError('disk-full', `the disk is full while writing ${what}; free some space and retry (the download resumes)`);
    case 'EDQUOT':
      return new ModelManagerError('disk-full', `disk quota exceeded while writing ${what}; free some space and retry (the download resumes)`);
    case 'ABORT_ERR':
      return new ModelManagerError('aborted', `download paused (${what})`);
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return new ModelManagerError('network', `network error for ${what}: ${err.code} (check the connection and retry; the download resumes)`);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
    case 'EISDIR':
    case 'ENOTDIR':
    case 'EMFILE':
      return new ModelManagerError('io', `cannot write ${what}: ${err.code}`);
    default:
      return new ModelManagerError('network', `${what}: ${err?.message ?? String(e)}`);
  }
}

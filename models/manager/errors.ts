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
    case 'ETIMEDOUT':
      return new ModelManagerError('network', `the hub stopped answering for ${what} (${err.message}); check the connection and retry (the download resumes)`);
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return new ModelManagerError('network', `network error for ${what}: ${err.code} (check the connection and retry; the download resumes)`);
    case 'EACCES':
    case 'EPERM':
      return new ModelManagerError('io', `cannot write ${what}: permission denied (check the folder's permissions, or set LIKELY_MODELS_DIR to a folder you can write)`);
    case 'EROFS':
      return new ModelManagerError('io', `cannot write ${what}: the disk is read-only (set LIKELY_MODELS_DIR to a folder on a writable disk)`);
    case 'ENOTDIR':
      return new ModelManagerError('io', `cannot use ${what}: part of its path is a file, not a folder${err.path ? ` (${err.path})` : ''}`);
    case 'EEXIST':
      return new ModelManagerError('io', `cannot create ${what}: ${err.path ?? 'a file'} is in the way (a file where a folder belongs, or a leftover; move it away and retry)`);
    case 'EISDIR':
      return new ModelManagerError('io', `cannot write ${what}: ${err.path ?? 'it'} is a folder where a file belongs`);
    case 'ENOENT':
      return new ModelManagerError('io', `cannot use ${what}: ${err.path ?? 'a file'} does not exist`);
    case 'EMFILE':
    case 'ENFILE':
      return new ModelManagerError('io', `cannot open ${what}: too many open files (close other programs and retry)`);
    default:
      return new ModelManagerError('network', `${what}: ${err?.message ?? String(e)}`);
  }
}

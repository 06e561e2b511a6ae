import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_UPDATE_CHARS } from '../common/limits.ts';
import { contentSecurityPolicy } from '../node/static-files.ts';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedExternalUrl,
  isAppUrl,
  isPermissionAllowed,
  isTrustedSender,
  resolveAppRequest,
  validateContentReply,
  validateDroppedPath,
  validateExportReply,
  validateShellCommand,
} from './security.ts';

test('only app://likely pages are ours', () => {
  assert.equal(isAppUrl('app://likely/index.html'), true);
  assert.equal(isAppUrl('app://likely/'), true);
  for (const url of ['app://evil/index.html', 'file:///index.html', 'http://likely/', 'https://likely/index.html', 'app://user:pw@likely/', 'about:blank', 'devtools://devtools', '', undefined, 'not a url']) {
    assert.equal(isAppUrl(url), false, String(url));
  }
});

test('an IPC sender is trusted only as the top frame of our page in one of our windows', () => {
  const ok = { frameUrl: 'app://likely/index.html', isMainFrame: true, knownWindow: true };
  assert.equal(isTrustedSender(ok), true);
  assert.equal(isTrustedSender({ ...ok, isMainFrame: false }), false, 'an iframe');
  assert.equal(isTrustedSender({ ...ok, knownWindow: false }), false, 'a webContents we did not create');
  assert.equal(isTrustedSender({ ...ok, frameUrl: 'https://example.com/' }), false, 'a page that navigated away');
  assert.equal(isTrustedSender({ ...ok, frameUrl: 'file:///tmp/x.html' }), false);
  assert.equal(isTrustedSender({ ...ok, frameUrl: undefined }), false, 'a destroyed frame');
});

test('links open in the browser only for https on allowed hosts', () => {
  assert.equal(isAllowedExternalUrl('https://huggingface.co/gpt2'), true);
  assert.equal(isAllowedExternalUrl('https://github.com/x/y'), true);
  for (const url of ['http://huggingface.co/gpt2', 'https://huggingface.co.evil.com/', 'https://evil.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'https://user@github.com/', 'https://github.com:8443/', 'smb://host/share', 'not a url']) {
    assert.equal(isAllowedExternalUrl(url), false, url);
  }
});

test('permissions are denied by default; only our page may write plain text to the clipboard', () => {
  for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'hid', 'usb', 'fileSystem', 'unknown']) {
    assert.equal(isPermissionAllowed(p, 'app://likely/index.html'), false, p);
  }
  assert.equal(isPermissionAllowed('clipboard-sanitized-write', 'app://likely/index.html'), true);
  assert.equal(isPermissionAllowed('clipboard-sanitized-write', 'https://evil.com/'), false);
});

test("the app's CSP is the web page's minus the WebSocket, so the browser tests (a CSP violation fails them) cover it", () => {
  // e2e/*.test.ts run the same renderer build under serve's policy and fail on any console error.
  const served = contentSecurityPolicy(['ws://127.0.0.1:1234']);
  assert.equal(served.replace(' ws://127.0.0.1:1234', ''), CONTENT_SECURITY_POLICY);
  assert.match(CONTENT_SECURITY_POLICY, /(^|; )style-src 'self'(;|$)/, 'no inline styles: token colors go through the CSSOM');
});

test('the CSP allows scripts only from the app and no remote connections', () => {
  assert.match(CONTENT_SECURITY_POLICY, /(^|; )script-src 'self'(;|$)/);
  assert.match(CONTENT_SECURITY_POLICY, /(^|; )default-src 'none'(;|$)/);
  assert.match(CONTENT_SECURITY_POLICY, /object-src 'none'/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-eval|https?:|\*/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY.match(/script-src[^;]*/)![0], /unsafe-inline/);
});

test('shell messages are checked', () => {
  assert.deepEqual(validateShellCommand({ kind: 'save' }), { kind: 'save' });
  assert.deepEqual(validateShellCommand({ kind: 'save', extra: 'dropped' }), { kind: 'save' });
  assert.deepEqual(validateShellCommand({ kind: 'set-theme', theme: 'dark' }), { kind: 'set-theme', theme: 'dark' });
  assert.throws(() => validateShellCommand({ kind: 'set-theme', theme: 'neon' }), /invalid theme/);
  assert.throws(() => validateShellCommand({ kind: 'quit-and-format-disk' }), /unknown shell command/);
  assert.throws(() => validateShellCommand('save'), /unknown shell command/);
  assert.deepEqual(validateContentReply(3, 'text'), { requestId: 3, text: 'text' });
  assert.throws(() => validateContentReply('3', 'text'), /invalid content reply/);
  assert.throws(() => validateContentReply(3, { text: 'x' }), /invalid content reply/);
  // A draft too large to score (a huge paste) still goes to its file.
  const big = 'x'.repeat(MAX_UPDATE_CHARS * 2);
  assert.equal(validateContentReply(3, big).text.length, big.length);
  assert.deepEqual(validateExportReply(1, { html: '<p>' }), { requestId: 1, reply: { html: '<p>' } });
  // The page has the scores and builds the export; it cannot ask main to do it instead.
  assert.throws(() => validateExportReply(1, { unsupported: true }), /invalid export reply/);
  assert.throws(() => validateExportReply(1, { html: 5 }), /invalid export reply/);
  assert.equal(validateDroppedPath('/home/w/a.md'), '/home/w/a.md');
  for (const p of ['a.md', '', '/a\0b', 5, null]) assert.throws(() => validateDroppedPath(p), /invalid file path/);
});

test('app:// serves files under the renderer folder only', () => {
  const root = '/opt/likely/renderer';
  assert.deepEqual(resolveAppRequest('app://likely/', root), { path: join(root, 'index.html'), mimeType: 'text/html; charset=utf-8' });
  assert.deepEqual(resolveAppRequest('app://likely/assets/index-abc.js?v=1#x', root), { path: join(root, 'assets/index-abc.js'), mimeType: 'text/javascript; charset=utf-8' });
  assert.deepEqual(resolveAppRequest('app://likely/a%20b.css', root), { path: join(root, 'a b.css'), mimeType: 'text/css; charset=utf-8' });
  assert.deepEqual(resolveAppRequest('app://evil/index.html', root), { status: 403 });
  assert.deepEqual(resolveAppRequest('app://likely/..%2F..%2Fetc%2Fpasswd.txt', root), { status: 403 });
  // The URL parser itself resolves dot segments and clamps them at the root.
  assert.deepEqual(resolveAppRequest('app://likely/%2e%2e/%2e%2e/secret.txt', root), { path: join(root, 'secret.txt'), mimeType: 'text/plain; charset=utf-8' });
  assert.deepEqual(resolveAppRequest('app://likely/..%5C..%5Cx.txt', root), { status: 403 });
  assert.deepEqual(resolveAppRequest('app://likely/a%00.js', root), { status: 403 });
  assert.deepEqual(resolveAppRequest('app://likely/%E0%A4%A', root), { status: 404 });
  assert.deepEqual(resolveAppRequest('app://likely/model.onnx', root), { status: 404 }, 'unknown types are not served');
});
